"""Service catalog and multi-service co-location (several services per converted building)."""
from __future__ import annotations

from .catalog import Catalog, Service, load_catalog
from .colocation import service_masks, solve_multiservice

__all__ = ["Catalog", "Service", "load_catalog", "service_masks", "solve_multiservice"]
