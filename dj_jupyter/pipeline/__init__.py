"""The pipeline as users write it: the tiers (Manual, Lookup, Imported, Computed, Part) and
``dj.Schema`` (the decorator that declares them, virtual modules). Above populate, because
Imported and Computed tables are populated, and Schema knows every tier.
"""

__all__: list[str] = []  # a layer folder: import its modules by name
