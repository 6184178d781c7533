"""Every text of the serve page, in English and Chinese (one table; the page reads it from ``/api/scenario``).

The language itself comes from :mod:`siting.i18n` (``--lang``, ``[report] language``, ``SITING_LANG``); service
names come from the catalog through :func:`siting.i18n.labels.service_title`. This table holds the page's own
words, which the report does not use.

Example
-------
>>> strings("zh")["replan"], strings("en")["replan"]
('重新规划', 'Re-plan')
"""
from __future__ import annotations

__all__ = ["STRINGS", "strings"]

#: key -> (English, Chinese)
STRINGS: dict[str, tuple[str, str]] = {
    "title": ("What-if planner", "情景规划"),
    "budget": ("Budget", "预算"),
    "time_limit": ("Time limit (s)", "时间上限 (秒)"),
    "replan": ("Re-plan", "重新规划"),
    "cancel": ("Cancel", "取消"),
    "running": ("Solving…", "求解中…"),
    "queued": ("Waiting for the solver…", "等待求解器…"),
    "cancelled": ("Cancelled", "已取消"),
    "failed": ("Not solved", "未求解"),
    "service": ("Service", "服务"),
    "enabled": ("On", "启用"),
    "weight": ("Weight", "权重"),
    "min_share": ("Floor", "下限"),
    "priority": ("Priority", "优先级"),
    "share_now": ("Coverage", "覆盖率"),
    "share_previous": ("Previous", "上一方案"),
    "change": ("Change", "变化"),
    "status": ("Status", "状态"),
    "gap": ("Gap", "间隙"),
    "spent": ("Spent", "已用"),
    "of_budget": ("of", "/"),
    "buildings": ("Converted buildings", "改造建筑"),
    "opened": ("Opened", "新增"),
    "closed": ("Closed", "取消"),
    "no_change": ("same buildings", "建筑不变"),
    "plan": ("Plan", "方案"),
    "compare_with": ("Compare with", "对比"),
    "show_service": ("Map shows", "地图显示"),
    "covered": ("covered", "已覆盖"),
    "not_covered": ("not covered", "未覆盖"),
    "existing": ("existing facility", "现有设施"),
    "candidate": ("idle building", "闲置建筑"),
    "converted": ("converted", "改造"),
    "required": ("locked in", "锁定保留"),
    "excluded": ("locked out", "锁定排除"),
    "lock_in": ("Lock in", "锁定保留"),
    "lock_out": ("Lock out", "锁定排除"),
    "unlock": ("Unlock", "解除锁定"),
    "click_hint": ("Click a building to lock it in or out.", "点击建筑以锁定保留或排除。"),
    "locks": ("Locks", "锁定"),
    "none": ("none", "无"),
    "export": ("Export", "导出"),
    "warm_start": ("Warm start", "热启动"),
    "seconds": ("s", "秒"),
    "streets": ("streets", "街道"),
    "zones": ("zones", "社区"),
    "cost": ("cost", "费用"),
    "services_here": ("services", "服务"),
    "no_plan_yet": ("No plan yet: press Re-plan.", "尚无方案：请点击重新规划。"),
    "diff_title": ("Against plan", "与方案对比"),
    "language": ("中文", "English"),
}


def strings(lang: str) -> dict[str, str]:
    """The page's texts in ``lang`` (``en`` or ``zh``)."""
    index = 1 if str(lang) == "zh" else 0
    return {key: pair[index] for key, pair in STRINGS.items()}
