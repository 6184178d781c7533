"""QGIS styles for the report GeoPackage: one default QML style per layer in the ``layer_styles`` table.

QGIS looks a GeoPackage layer's default style up in ``layer_styles`` (the table its "Save style... in
database" writes): the row with ``f_table_schema = ''``, ``f_table_name`` = the layer, ``f_geometry_column`` =
its geometry column and ``useAsDefault`` true. The table is created here with the columns and types QGIS
creates (``QgsOgrUtils::saveStyle``: FID ``id``, ``f_table_catalog``, ``f_table_schema``, ``f_table_name``,
``f_geometry_column``, ``styleName``, ``styleQML``, ``styleSLD``, ``useAsDefault`` boolean, ``description``,
``owner``, ``ui``, ``update_time``), so QGIS draws covered demand green, uncovered red (orange when some
service covers it), converted buildings as orange stars and existing facilities as blue squares as soon as
the file is opened.

Each symbol layer carries its properties both as ``<Option type="Map">`` (read by QGIS >= 3.26) and as
``<prop k v>`` (read by older QGIS 3), as QGIS 3.18-3.24 themselves wrote them.

Example
-------
>>> "RuleRenderer" in layer_qml("demand_covered")
True
"""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["STYLE_TABLE", "STYLE_COLUMNS", "Rule", "LAYER_RULES", "layer_qml", "write_layer_styles"]

STYLE_TABLE = "layer_styles"
#: the columns of QGIS's own ``layer_styles`` table, in its order (after the FID ``id``)
STYLE_COLUMNS = ("f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName",
                 "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time")

_GREEN, _RED, _ORANGE, _AMBER, _BLUE, _GREY = "26,150,65", "215,25,28", "245,120,20", "253,174,97", "33,102,172", \
    "150,150,150"


@dataclass(frozen=True)
class Rule:
    """One legend entry: features matching ``filter`` (a QGIS expression; ``None`` = all, ``"ELSE"`` = the rest).

    ``shape`` is a QGIS marker name (circle, square, star, ...) for points, ``"fill"`` for polygons;
    ``color`` is ``"r,g,b"``, ``alpha`` 0-255 (fills are drawn translucent so the points stay visible).
    """

    label: str
    filter: str | None
    color: str
    shape: str = "circle"
    size_mm: float = 2.0
    alpha: int = 255


#: layer -> legend rules (fields named in filters are columns of that layer, see ``gpkg.write_geopackage``)
LAYER_RULES: dict[str, tuple[Rule, ...]] = {
    "selected_sites": (Rule("converted building (the plan)", None, _ORANGE, "star", 5.0),),
    "existing_facilities": (Rule("existing facility", None, _BLUE, "square", 3.2),),
    "candidates": (Rule("converted (the plan)", '"selected"', _ORANGE, "star", 4.0),
                   Rule("idle building, not converted", "ELSE", _GREY, "circle", 1.8)),
    "demand_covered": (Rule("covered for every service", None, _GREEN, "circle", 1.8),),
    "demand_uncovered": (Rule("uncovered for some services", '"services_covered_after" > 0', _AMBER, "circle", 1.8),
                         Rule("uncovered for every service", "ELSE", _RED, "circle", 2.0)),
    # network areas (the streets within reach) and the hulls drawn without a street network keep apart in the legend
    "service_areas": (
        Rule("streets within reach of a converted building", '"new" AND "method" = \'network\'', _ORANGE, "fill",
             alpha=70),
        Rule("streets within reach of an existing facility", 'NOT "new" AND "method" = \'network\'', _BLUE, "fill",
             alpha=45),
        Rule("demand hull of a converted building (see method)", '"new" AND "method" <> \'network\'', _ORANGE,
             "fill", alpha=30),
        Rule("demand hull of an existing facility (see method)", "ELSE", _BLUE, "fill", alpha=20)),
    "community_coverage": (
        Rule("every service >= 95 % covered", '"share_after_min" >= 0.95', _GREEN, "fill", alpha=150),
        Rule("lowest service 80-95 %", '"share_after_min" >= 0.8 AND "share_after_min" < 0.95', "166,217,106",
             "fill", alpha=150),
        Rule("lowest service 50-80 %", '"share_after_min" >= 0.5 AND "share_after_min" < 0.8', _AMBER, "fill",
             alpha=150),
        Rule("no demand for any service", '"share_after_min" IS NULL', _GREY, "fill", alpha=80),
        Rule("lowest service below 50 %", "ELSE", _RED, "fill", alpha=150)),
}


def _key(*parts: str) -> str:
    """A stable rule key (QGIS wants braces around a UUID; the same file twice gives the same text)."""
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "siting:" + ":".join(parts))) + "}"


def _symbol(parent: ET.Element, name: str, rule: Rule) -> None:
    fill = rule.shape == "fill"
    symbol = ET.SubElement(parent, "symbol", {"type": "fill" if fill else "marker", "name": name, "alpha": "1",
                                              "clip_to_extent": "1", "force_rhr": "0"})
    layer = ET.SubElement(symbol, "layer", {"class": "SimpleFill" if fill else "SimpleMarker", "enabled": "1",
                                            "locked": "0", "pass": "0"})
    props = {"color": f"{rule.color},{rule.alpha}", "outline_style": "solid"}
    if fill:
        props.update(style="solid", outline_color=f"{rule.color},255", outline_width="0.4",
                     outline_width_unit="MM", joinstyle="bevel")
    else:
        props.update(name=rule.shape, size=f"{rule.size_mm:g}", size_unit="MM", outline_color="35,35,35,255",
                     outline_width="0.2", outline_width_unit="MM", angle="0", scale_method="diameter")
    options = ET.SubElement(layer, "Option", {"type": "Map"})
    for k, v in props.items():
        ET.SubElement(options, "Option", {"type": "QString", "name": k, "value": v})
    for k, v in props.items():
        ET.SubElement(layer, "prop", {"k": k, "v": v})


def layer_qml(layer: str, rules: Sequence[Rule] | None = None) -> str:
    """The QML document (a rule-based renderer) of ``layer`` from ``rules`` (default: :data:`LAYER_RULES`)."""
    rules = LAYER_RULES[layer] if rules is None else rules
    root = ET.Element("qgis", {"version": "3.28.0", "styleCategories": "Symbology"})
    renderer = ET.SubElement(root, "renderer-v2", {"type": "RuleRenderer", "symbollevels": "0",
                                                   "enableorderby": "0", "forceraster": "0"})
    tree = ET.SubElement(renderer, "rules", {"key": _key(layer, "root")})
    symbols = ET.SubElement(renderer, "symbols")
    for k, rule in enumerate(rules):
        attrs = {"key": _key(layer, str(k)), "label": rule.label, "symbol": str(k)}
        if rule.filter is not None:
            attrs["filter"] = rule.filter
        ET.SubElement(tree, "rule", attrs)
        _symbol(symbols, str(k), rule)
    geometry_type = "2" if rules and rules[0].shape == "fill" else "0"  # QGIS: 0 point, 1 line, 2 polygon
    ET.SubElement(root, "layerGeometryType").text = geometry_type
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body


def write_layer_styles(path: str | Path, layers: Sequence[str], *, geometry_column: str = "geom",
                       rules: Mapping[str, Sequence[Rule]] | None = None) -> None:
    """Append the ``layer_styles`` table to the GeoPackage ``path``: one default style per layer of ``layers``."""
    import pandas as pd
    import pyogrio

    rules = LAYER_RULES if rules is None else rules
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    rows = [{"f_table_catalog": "", "f_table_schema": "", "f_table_name": name,
             "f_geometry_column": geometry_column, "styleName": name, "styleQML": layer_qml(name, rules[name]),
             "styleSLD": "", "useAsDefault": True, "description": f"siting report: {name}", "owner": "",
             "ui": "", "update_time": now} for name in layers]
    table = pd.DataFrame(rows, columns=list(STYLE_COLUMNS))
    pyogrio.write_dataframe(table, path, layer=STYLE_TABLE, driver="GPKG", append=True,
                            layer_options={"FID": "id"})
