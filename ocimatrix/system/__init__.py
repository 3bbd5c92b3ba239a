"""This machine, read and acted on: its distribution and packages, its apt sources, processes and
mounts. Below the rooms that start daemons (``host``) and prepare generation roots (``generations``)."""
