"""Inputs from data people have: OpenStreetMap extracts (:mod:`.osm`) and POI exports in Chinese map coordinates (:mod:`.poi`).

``siting prepare osm`` and ``siting prepare poi`` (siting/commands/prepare.py) are the command-line front ends.
"""
