"""Inventory readers: points, polygons and small label tables."""
