"""The ecological network of a layer set: its graph, connectivity indices, least-cost corridors and what a site does.

* :mod:`~geo.network.graph`: nodes (cores, sources) and links (corridors, contacts) of a layer set;
* :mod:`~geo.network.indices`: IIC, PC and each element's dIIC, dPC;
* :mod:`~geo.network.corridors`: least-cost corridors from sources over a resistance raster;
* :mod:`~geo.network.resistance`: land cover to resistance;
* :mod:`~geo.network.impact`: what a site does to the network (cuts, along, width left, ΔPC).

The methods and their sources are in ``docs/network.md``.
"""
