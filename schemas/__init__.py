"""The contracts: frozen event models, the one JSON codec and the generated JSON Schema files."""
