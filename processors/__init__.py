"""The pure core of leadstream: normalise, map, match and merge — plain data in, decisions out."""
