"""The light libconfig parser that Run.settings() used before it read the
engine's own scenario_json (issue 11, item 5). Kept only as the oracle of
test_reader.test_settings_match_legacy_parser: old and new outputs agree."""
import re


def _strip_comment(line):
    out, q = [], False
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == '"':
            q = not q
        if not q and (ch == "#" or line.startswith("//", i)):
            break
        out.append(ch)
        i += 1
    return "".join(out)


def flatten_settings(text):
    """Flatten libconfig text to {"path.key": "value"} (lists kept as text)."""
    body = "\n".join(_strip_comment(l) for l in text.splitlines())
    # tokenise into: names, '=' or ':', '{', '}', '(', ')', '[', ']', ';', ',', strings, scalars
    tok = re.findall(r'"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_\-*]*|[-+]?[0-9][0-9.eE+\-xXLl]*'
                     r'|[{}()\[\]=:;,]|\S', body)
    res = {}
    pos = 0

    def value(prefix):
        nonlocal pos
        t = tok[pos]
        if t == "{":
            pos += 1
            group(prefix)
            return None
        if t in "([":
            depth, start = 0, pos
            while True:
                if tok[pos] in "([{":
                    depth += 1
                elif tok[pos] in ")]}":
                    depth -= 1
                pos += 1
                if depth == 0:
                    break
            txt = " ".join(tok[start:pos])
            res[prefix] = re.sub(r"\s*([,;=:{}()\[\]])\s*", r"\1", txt)
            return None
        pos += 1
        res[prefix] = t
        return None

    def group(prefix):
        nonlocal pos
        while pos < len(tok) and tok[pos] != "}":
            name = tok[pos]
            if name in ";,":
                pos += 1
                continue
            pos += 1
            if pos < len(tok) and tok[pos] in "=:":
                pos += 1
            value(prefix + "." + name if prefix else name)
            while pos < len(tok) and tok[pos] in ";,":
                pos += 1
        pos += 1

    try:
        group("")
    except IndexError:
        pass
    return res
