"""Layer builders: functions that turn sources and parameters into zones.

Each builder takes a :class:`~geo.builders.context.BuildContext` and keyword
parameters from the manifest, and returns a GeoDataFrame in the measurement CRS
with at least ``zone_class``, ``name_zh``, ``name_en`` and ``geometry``. Nothing
here knows a district: places, widths and classes all come from the manifest.
"""
from .coast import belts, coastal_strips, coastline
from .compose import compose, control_units
from .context import BuildContext
from .reserves import reserve_zones
from .shapes import from_source, shapes, study_area
from .water import reservoir_zones

#: builder name (as written in a manifest) -> function
BUILDERS = {
    "study_area": study_area,
    "coastline": coastline,
    "coastal_strips": coastal_strips,
    "belts": belts,
    "shapes": shapes,
    "from_source": from_source,
    "reservoir_zones": reservoir_zones,
    "reserve_zones": reserve_zones,
    "compose": compose,
    "control_units": control_units,
}

__all__ = ["BUILDERS", "BuildContext"] + sorted(BUILDERS)
