"""One line of every bad-row kind, between good rows: (raw bytes, expected reason or None, detail)."""

POISON = [
    (b'{"prompt": "fine"}', None, ""),
    (b"{not json", "invalid_json", "invalid JSON"),
    (b"[1, 2]", "not_object", "got list"),
    (b'"just a string"', "not_object", "got str"),
    (b'{"prompt": 5}', "invalid_row", "prompt: Input should be a valid string"),
    (b'{"prompt": "a", "extra": 1}', "invalid_row", "extra: unknown field"),
    (
        b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}',
        "invalid_row",
        "must end with a user turn",
    ),
    (b'{"messages": "hello"}', "invalid_row", "messages: Input should be a valid tuple"),
    (b'{"id": "no prompt"}', "invalid_row", "give exactly one of 'prompt'"),
    (b'{"prompt": ""}', "invalid_row", "prompt: String should have at least 1 character"),
    (b'{"prompt": "   "}', "invalid_row", "'prompt' is blank"),
    (b'{"prompt": "bad \\ud800 surrogate"}', "lone_surrogate", "lone UTF-16 surrogate"),
    (b'{"prompt": "bad \xff byte"}', "invalid_utf8", "not UTF-8"),
    (b'{"prompt": "' + b"x" * 2000 + b'"}', "too_large", "the limit is 1000"),
    (b'{"prompt": "also fine"}', None, ""),
]
