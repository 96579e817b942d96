"""`cai revise`: SL-CAI critique → revision rounds per record, written as preference pairs."""
