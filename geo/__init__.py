"""ecozone: ecological zoning and spatial control (生态空间分区管控)."""
__version__ = "0.1.0"
