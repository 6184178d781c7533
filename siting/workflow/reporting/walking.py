"""The report's "walking model used" section: flat speeds, slope response and stair rates per speed group.

A coverage share means little without the walking model behind it (how fast, how slopes and stairs slow each
group), so the report states it next to the coverage table: :func:`with_walking_model` inserts the section after
"Coverage per service". The texts are given in English and Chinese (:data:`TEXTS`); ``lang`` picks one.

Example
-------
>>> from siting.travel.speed import SpeedProfile
>>> head, body = walking_section(SpeedProfile.default(elderly=True))
>>> head, "0.76" in body and "Oh-Park" in body
('Walking model used', True)
>>> [h for h, _ in with_walking_model([("Summary", ""), ("Coverage per service", "")], None)]
['Summary', 'Coverage per service', 'Walking model used']
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from ...travel.speed import SpeedProfile
from .html import esc, table_html

__all__ = ["TEXTS", "walking_model_table", "walking_section", "scenario_profile", "with_walking_model"]

#: every text of the section as an (en, zh) pair
TEXTS: dict[str, dict[str, str]] = {
    "heading": {"en": "Walking model used", "zh": "采用的步行模型"},
    "group": {"en": "speed group", "zh": "步速人群"},
    "flat": {"en": "flat speed (m/s)", "zh": "平地步速（米/秒）"},
    "slope": {"en": "slope response", "zh": "坡度响应"},
    "stairs": {"en": "stairs", "zh": "台阶"},
    "source": {"en": "source of the stair rates", "zh": "台阶速率来源"},
    "note": {
        "en": "Walking time on a street piece is its length at the group's flat speed, slowed by the slope "
              "response (rise over run, in the direction walked). On stairs it is the horizontal length at the "
              "flat speed plus the height climbed or descended at the group's vertical rates, so steeper stairs "
              "take longer and up and down differ. Groups are not simply slower adults: each has its own slope "
              "response and stair rates. Defaults and their sources: models/travel-times.md. "
              "How much coverage depends on these numbers: siting travel SCENARIO --sensitivity stairs.",
        "zh": "街道段的步行时间按该组平地步速计算，再按坡度响应（行进方向的高差与水平距离之比）折减。台阶上的时间为水平长度按平地步速"
              "所需时间，加上按该组垂直速率爬升或下降的高差所需时间，因此台阶越陡耗时越长，上下行不同。各组并非简单地比成人慢："
              "每组有自己的坡度响应和台阶速率。默认值及其来源见 models/travel-times.md。覆盖率对这些参数的敏感程度："
              "siting travel 情景文件 --sensitivity stairs。",
    },
    "legacy": {
        "en": "Legacy stair model (stairs_factor): stairs cost a fixed multiple of their horizontal length "
              "whatever they climb, the same up and down, and every group is the adults rescaled by its speed.",
        "zh": "旧台阶模型（stairs_factor）：台阶耗时为水平长度的固定倍数，与爬升高度无关，上下行相同，各组只是按步速缩放的成人。",
    },
    "no_network": {
        "en": "Walking times were read from the travel table {path}; the model that produced them is not recorded "
              "in the scenario.",
        "zh": "步行时间取自出行时间表 {path}；情景文件未记录生成它的模型。",
    },
}


def _t(key: str, lang: str) -> str:
    pair = TEXTS[key]
    return pair.get(lang, pair["en"])


def walking_model_table(profile: SpeedProfile, *, lang: str = "en") -> pd.DataFrame:
    """One row per speed group: flat speed, slope response, stair model and where its rates come from."""
    rows = profile.describe()
    if lang == "zh":  # the same figures, worded in Chinese (the sources stay as cited)
        for r in rows:
            r["slope"], r["stairs"] = _zh_cells(profile, r["group"])
    return pd.DataFrame({_t("group", lang): [_GROUP_ZH.get(r["group"], r["group"]) if lang == "zh" else r["group"]
                                             for r in rows],
                         _t("flat", lang): [float(r["flat_m_s"]) for r in rows],
                         _t("slope", lang): [r["slope"] for r in rows],
                         _t("stairs", lang): [r["stairs"] for r in rows],
                         _t("source", lang): [r["stairs_source"] for r in rows]})


_GROUP_ZH = {"adult": "成人", "elderly": "老年人", "children": "儿童", "child": "儿童"}


def _zh_cells(profile: SpeedProfile, group: str) -> tuple[str, str]:
    """The slope response and the stair model of ``group`` in Chinese."""
    if profile.use_slope:
        sr = profile.slope_response(group)
        slope = (f"Tobler 型曲线：坡度 {sr.optimum_grade:+.0%} 时最快，上坡 k = {sr.uphill_k:g}，"
                 f"下坡 k = {sr.downhill_k:g}")
    else:
        slope = "不计坡度（按平地）"
    if profile.legacy_stairs:
        stairs = f"旧模型：台阶按水平长度、以平地步速 × {float(profile.stairs_factor or 0):g} 计"
    else:
        r = profile.stair_rates(group)
        stairs = f"水平段按平地步速，另加垂直上升 {r.ascent_m_per_s:.3f} 米/秒、下降 {r.descent_m_per_s:.3f} 米/秒"
    return slope, stairs


def walking_section(profile: SpeedProfile | None, *, lang: str = "en", travel_table: Any = None) -> tuple[str, str]:
    """``(heading, HTML body)`` stating the walking model; without a profile, where the times came from."""
    if profile is None:
        path = "—" if travel_table is None else str(travel_table)
        return _t("heading", lang), f"<p class=note>{esc(_t('no_network', lang).format(path=path))}</p>"
    body = table_html(walking_model_table(profile, lang=lang), floatfmt="{:.2f}")
    note = _t("legacy", lang) + " " if profile.legacy_stairs else ""
    return _t("heading", lang), body + f"<p class=note>{esc(note + _t('note', lang))}</p>"


def scenario_profile(scenario: Any) -> SpeedProfile | None:
    """The speed profile of a scenario's ``[network]`` section (``None`` when its times come from a table)."""
    network = getattr(scenario, "network", None)
    if not network:
        return None
    from ...travel.config import parse_network_section

    return parse_network_section(network, file=scenario.path, base_dir=scenario.base_dir, check_files=False).profile()


def with_walking_model(sections: list[tuple[str, str]], scenario: Any, *, lang: str = "en",
                       after: str = "Coverage per service") -> list[tuple[str, str]]:
    """``sections`` with the walking-model section right after the one headed ``after`` (else at the end)."""
    data = getattr(scenario, "data", None)
    section = walking_section(scenario_profile(scenario), lang=lang,
                              travel_table=getattr(data, "travel_times", None))
    heads = [h for h, _ in sections]
    at = heads.index(after) + 1 if after in heads else len(sections)
    return [*sections[:at], section, *sections[at:]]
