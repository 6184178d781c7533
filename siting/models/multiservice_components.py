r"""Where a multi-service plan can still gain: the reach graph's components and each one's share of the gap.

Two buildings are joined when an active demand point reaches both (for any service); every point's reach lies
in one connected component of that graph. With the cover-row multipliers :math:`u` and the budget price
:math:`\mu` of the Lagrangian bound (:mod:`siting.models.multiservice_lagrange`) fixed, the bound splits over
the components:

.. math::

    L(u, \mu) = \mu B + W^0 + \sum_c L_c, \qquad
    L_c = \sum_{(i, k) \in c} (\lambda_k w^k_i - u_{ik})^+ + \sum_{j \in c} \mathrm{term}_j,

and so does a plan: with :math:`P_c` what it covers in :math:`c` less :math:`\mu` times what it spends there,
bound - plan :math:`= \sum_c (L_c - P_c) + \mu (B - \text{spend})`. :math:`L_c \ge` what any plan earns in
:math:`c` at price :math:`\mu`, so a component where :math:`P_c = L_c` cannot gain at the plan's spend there; the
components with the largest :math:`L_c - P_c` hold the gap (150k plain, seed 2: 9 of 1,481 components hold all
of it, four conurbations 90 %), and they are where the core MIPs re-plan first
(:func:`~siting.models.multiservice_core.core_search`).

Example
-------
>>> import numpy as np
>>> shortfall = np.array([0.0, 0.004, 1e-9, 0.002])
>>> [int(c) for c in ranked_components(shortfall, np.array([True, True, True, False]))]
[1]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .base import Built
from .multiservice_lagrange import LagrangeBound
from .multiservice_phase import site_columns
from .multiservice_reach import Reach

__all__ = ["reach_graph", "reach_components", "building_spend", "placements", "Shortfalls", "ranked_components",
           "ComponentTurns"]

#: a component's L_c - P_c below this share of the objective's scale counts as none (the search's tolerance)
NEGLIGIBLE = 1e-7


def reach_graph(reach: Reach) -> sp.csr_matrix:
    """(n_sites, n_sites) bool: buildings an active demand point reaches both of (for some service).

    One sparse product per service, ``B^T B`` over the active points.
    """
    n = reach.allowed.shape[0]
    adjacency = sp.csr_matrix((n, n), dtype=np.float32)
    for s in reach.services:
        b = s.by_demand[s.active].astype(np.float32)
        adjacency = adjacency + b.T @ b
    return sp.csr_matrix(adjacency > 0)


def reach_components(reach: Reach, graph: sp.csr_matrix | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """(component of each building, each service's component of its active points; -1 for the others).

    :func:`scipy.sparse.csgraph.connected_components` of the :func:`reach_graph` (``graph`` when given).
    """
    from scipy.sparse.csgraph import connected_components

    _, label = connected_components(reach_graph(reach) if graph is None else graph, directed=False)
    points = []
    for s in reach.services:
        rows = s.by_demand.tocsr()
        has = np.diff(rows.indptr) > 0
        first = np.full(rows.shape[0], -1)
        first[has] = label[rows.indices[rows.indptr[:-1][has]]]
        points.append(np.where(s.active, first, -1))
    return label, points


def _final_columns(built: Built, reach: Reach) -> tuple[slice, np.ndarray, np.ndarray]:
    """The final year's ``y`` and ``s`` columns: their slice, each one's building and service (-1 for ``y``).

    The layout of :func:`~siting.models.multiservice_phase.site_columns`.
    """
    owner, kind = site_columns(reach.allowed)
    start = built.program.blocks["site"][0]
    return slice(start, start + owner.shape[0]), owner, kind


def building_spend(built: Built, reach: Reach, x: np.ndarray) -> np.ndarray:
    """(n_sites,) what the plan ``x`` spends on each building: the cost vector (final year) over its own columns."""
    if built.plan_cost is None:
        raise ValueError("the program keeps no plan cost (Built.plan_cost): no spend per building")
    block, owner, _ = _final_columns(built, reach)
    return np.bincount(owner, weights=built.plan_cost[block] * x[block], minlength=reach.allowed.shape[0])


def placements(built: Built, reach: Reach, x: np.ndarray) -> np.ndarray:
    """(n_sites, K) bool: the new placements of the plan ``x`` in the final year (its ``s`` columns)."""
    block, owner, kind = _final_columns(built, reach)
    placed = np.zeros(reach.allowed.shape, bool)
    s = kind >= 0
    placed[owner[s], kind[s]] = x[block][s] > 0.5
    return placed


@dataclass(frozen=True)
class Shortfalls:
    """The bound's split over the reach components (module notes), fixed; each plan's :math:`L_c - P_c` from it.

    label : (n_sites,) component of each building; points : each service's component of its active points
    graph : the :func:`reach_graph` (the ball rounds walk it); bound_c : (n_components,) :math:`L_c`;
    price : the budget price mu; point_value : what each point earns when covered in the relaxation (one array
    per service)
    """

    label: np.ndarray
    points: list[np.ndarray]
    graph: sp.csr_matrix
    bound_c: np.ndarray
    price: float
    point_value: tuple[np.ndarray, ...]

    @classmethod
    def at(cls, reach: Reach, found: LagrangeBound) -> Shortfalls | None:
        """From a Lagrangian bound that kept its split (None when it did not)."""
        if found.price is None or found.site_score is None or not found.point_free:
            return None
        graph = reach_graph(reach)
        label, points = reach_components(reach, graph)
        n_comp = int(label.max()) + 1 if label.size else 0
        free = np.zeros(n_comp)
        for extra, comp in zip(found.point_free, points, strict=True):
            on = comp >= 0
            free += np.bincount(comp[on], weights=extra[on], minlength=n_comp)
        bound_c = free + np.bincount(label, weights=found.site_score, minlength=n_comp)
        return cls(label, points, graph, bound_c, float(found.price), found.point_value)

    def plan_shares(self, reach: Reach, placed: np.ndarray, spend: np.ndarray) -> np.ndarray:
        """(n_components,) :math:`P_c`: what the plan covers in each component less ``price`` times its spend there.

        ``placed`` (n_sites, K) bool: the plan's new placements (:func:`placements`); ``spend`` (n_sites,) its
        spend per building (:func:`building_spend`).
        """
        n_comp = self.bound_c.shape[0]
        covered = np.zeros(n_comp)
        for k, (s, value, comp) in enumerate(zip(reach.services, self.point_value, self.points, strict=True)):
            hit = (s.by_demand @ placed[:, k].astype(np.int8)) > 0
            on = comp >= 0
            covered += np.bincount(comp[on], weights=(value * hit)[on], minlength=n_comp)
        return covered - self.price * np.bincount(self.label, weights=spend * reach.buildable, minlength=n_comp)

    def total(self, reach: Reach, money: float) -> float:
        r""":math:`\mu B + W^0 + \sum_c L_c`: the bound the split adds up to with ``money`` (B) to spend."""
        return self.price * money + reach.offset + float(self.bound_c.sum())

    def of(self, built: Built, reach: Reach, x: np.ndarray) -> np.ndarray:
        """(n_components,) :math:`L_c - P_c` of the plan ``x``."""
        return self.bound_c - self.plan_shares(reach, placements(built, reach, x), building_spend(built, reach, x))


def ranked_components(shortfall: np.ndarray, has_plan: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """The components worth re-planning, the largest ``shortfall`` (:math:`L_c - P_c`) first.

    ``has_plan``: the components where the plan converts a building (a core re-plans the plan's buildings and
    adds others; one without any is the greedy's to fill). A shortfall of at most :data:`NEGLIGIBLE` ×
    ``scale`` is none.
    """
    keep = np.flatnonzero(has_plan & (shortfall > NEGLIGIBLE * max(scale, 1e-300)))
    return keep[np.argsort(-shortfall[keep], kind="stable")]


class ComponentTurns:
    """Where the next ball round (:mod:`~siting.models.multiservice_balls`) centres: component, then building.

    The components are taken by their shortfall :math:`L_c - P_c` on the current plan, largest first; within
    one, each converted building no ball took in yet (in a fixed scattered order) centres the next ball. Once
    every converted building of a component was in a ball, the component starts another pass if one of its
    balls gained in this one, and is done otherwise. A ball proven to hold no gain is not solved again until the
    plan changes (:meth:`plan_changed`): on the same plan it is the same program (150k plain, 300 s: 11-25 of
    ~110 ball rounds repeated an earlier ball, some on the same plan; 60k plain, 180 s: 9 skipped).
    """

    def __init__(self, shortfalls: Shortfalls) -> None:
        self.shortfalls = shortfalls
        n = shortfalls.label.shape[0]
        self.visited = np.zeros(n, bool)        # converted buildings a ball took in, in this pass
        self.gained: set[int] = set()           # components a ball gained in, in this pass
        self.done: set[int] = set()
        self.proven: set[bytes] = set()         # keys of balls proven without gain on the current plan
        self.skipped = 0                        # balls passed over as proven
        # the seeds in a fixed scattered order (not the buildings' input order, often sorted by place)
        self._order = np.random.default_rng(20261201).permutation(n)

    def next(self, built: Built, reach: Reach, x: np.ndarray, converted: np.ndarray,
             scale: float, exclude: int | None = None) -> tuple[int, int] | None:
        """(component, the converted building the next ball centres on); None: no component is left.

        ``exclude``: a component not to take now (one a ball beside this one re-plans).
        """
        label = self.shortfalls.label
        n_comp = self.shortfalls.bound_c.shape[0]
        own = converted & reach.buildable
        has_plan = np.bincount(label, weights=own, minlength=n_comp) > 0
        for c in ranked_components(self.shortfalls.of(built, reach, x), has_plan, scale):
            c = int(c)
            if c in self.done or c == exclude:
                continue
            mine = own & (label == c)
            if not (mine & ~self.visited).any():
                if c not in self.gained:
                    self.done.add(c)
                    continue
                self.visited[mine] = False      # another pass over the component
                self.gained.discard(c)
            left = (mine & ~self.visited)[self._order]
            return c, int(self._order[np.argmax(left)])
        return None

    def record(self, component: int, ball: np.ndarray, converted: np.ndarray, gained: bool,
               proven: bytes | None = None) -> None:
        """The ``ball`` (n_sites,) bool of ``component`` was re-planned from a plan converting ``converted``.

        ``proven``: the ball's :func:`~siting.models.multiservice_balls.ball_key` when its re-plan was proven
        optimal without a gain.
        """
        self.visited |= ball & converted
        if gained:
            self.gained.add(component)
        if proven is not None and not gained:
            self.proven.add(proven)

    def pass_over(self, component: int, ball: np.ndarray, converted: np.ndarray) -> None:
        """Skip the ``ball`` (n_sites,) bool of ``component``, one :attr:`proven` on this plan.

        Its converted buildings count as visited, as if it had been re-planned without a gain.
        """
        self.record(component, ball, converted, gained=False)
        self.skipped += 1

    def plan_changed(self) -> None:
        """A round kept a new plan: every ball may gain again."""
        self.proven.clear()
