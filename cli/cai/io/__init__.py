"""Every row shape cai reads or writes, and the keys and seeds that name rows (`keys`)."""
