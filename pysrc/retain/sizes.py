"""Sizes as users write them: 4096, 64K, 512M, 2G (powers of 1024)."""

import re

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text):
    """'512M' -> 536870912; raises ValueError with a readable message."""
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*", text or "", re.IGNORECASE)
    if not m:
        raise ValueError("'%s' is not a size (use bytes, or a K, M or G suffix: 64K, 512M, 2G)" % text)
    return int(m.group(1)) * _UNITS[m.group(2).upper()]


def format_size(n):
    for unit in ("T", "G", "M", "K"):
        if n >= _UNITS[unit] and n % _UNITS[unit] == 0:
            return "%d%s" % (n // _UNITS[unit], unit)
    return str(n)
