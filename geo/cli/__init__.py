"""The ``ecozone`` command line (the only part of ecozone that knows click)."""
