"""A resident check service: one layer set kept loaded, checks run on request.

``ecozone serve`` opens a layer set once (zones, their index, the rule table)
and answers ``ecozone check ... --service URL`` from then on, so a check costs
reading the sites, checking them and writing the outputs, not starting Python
and opening the layer set again. The outputs, messages and exit codes are
those of the plain command: the service runs the same pipeline
(:func:`~geo.check.pipeline.run_check`) in the client's working directory, with
its parameters checked as the command line checks them.

It listens on 127.0.0.1 only and answers the account that started it only,
one check at a time, in the order they arrive; it opens the layer set again
when one of its files changes.

Modules: ``protocol`` (address, proofs, the request and its parameters),
``keys`` (the key file), ``runner`` (checks in turn on the loaded layer set),
``server`` (HTTP, bounded connections), ``client`` (``check --service``; the
standard library only).
"""
from .client import check_remote, service_info
from .keys import key_path
from .protocol import DEFAULT_PORT
from .runner import CheckService
from .server import CheckServer, serve

__all__ = ["CheckService", "CheckServer", "serve", "check_remote", "service_info", "key_path", "DEFAULT_PORT"]
