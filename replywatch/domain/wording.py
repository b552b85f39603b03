"""How counts read in what people see (command output, logs): `1 new item`, `2 new items`."""


def counted(count: int, noun: str) -> str:
    """`1 new item`, `2 new items`: the noun in the plural unless the count is one."""
    return f"{count} {noun}" + ("" if count == 1 else "s")
