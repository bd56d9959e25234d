#!/usr/bin/python3
"""Strict reader of the Prometheus text exposition format 0.0.4.

promcheck.py FILE [QUERY...]

Exits 1 naming the line when FILE is not well formed: every sample must
follow its family's HELP and TYPE (counter or gauge), names and label
names must be valid, label values properly quoted and escaped, values
numbers, no series twice, no family split in two, and a counter named
*_total.  Then prints one line per QUERY, written as a series
(name{label="value",...}, labels in any order): its value, or "absent".
"""
import re
import sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')


def die(lineno, msg):
    sys.stderr.write('promcheck: line %d: %s\n' % (lineno, msg))
    sys.exit(1)


def parse_series(text, lineno):
    """name{labels} at the start of text: (name, labels, rest)."""
    m = NAME.match(text)
    if not m:
        die(lineno, 'bad metric name in %r' % text)
    name, i, labels = m.group(0), m.end(), {}
    if i < len(text) and text[i] == '{':
        i += 1
        while text[i] != '}':
            m = LABEL.match(text, i)
            if not m or text[m.end():m.end() + 2] != '="':
                die(lineno, 'bad label at %r' % text[i:])
            key, i, val = m.group(0), m.end() + 2, ''
            while text[i] != '"':
                c = text[i]
                if c == '\n':
                    die(lineno, 'newline in a label value')
                if c == '\\':
                    i += 1
                    if text[i] not in '\\"n':
                        die(lineno, 'bad escape \\%s' % text[i])
                    c = '\n' if text[i] == 'n' else text[i]
                val += c
                i += 1
                if i >= len(text):
                    die(lineno, 'unterminated label value')
            i += 1
            if key in labels:
                die(lineno, 'label %s twice' % key)
            labels[key] = val
            if text[i] == ',':
                i += 1
            elif text[i] != '}':
                die(lineno, 'expected , or } at %r' % text[i:])
        i += 1
    return name, labels, text[i:]


def read(path):
    samples, families, done = {}, {}, set()
    current = None
    with open(path, encoding='utf-8', newline='') as f:
        data = f.read()
    if data and not data.endswith('\n'):
        die(data.count('\n') + 1, 'last line does not end')
    for lineno, line in enumerate(data.split('\n')[:-1], 1):
        if line.startswith('# HELP '):
            name = line[7:].split(' ', 1)[0]
            if not NAME.fullmatch(name) or name in families or name in done:
                die(lineno, 'HELP for %r again or invalid' % name)
            if current:
                done.add(current)
            families[name] = None
            current = name
        elif line.startswith('# TYPE '):
            parts = line[7:].split(' ')
            if len(parts) != 2 or parts[0] != current or families[current]:
                die(lineno, 'TYPE not right after its HELP')
            if parts[1] not in ('counter', 'gauge'):
                die(lineno, 'type %r' % parts[1])
            if parts[1] == 'counter' and not current.endswith('_total'):
                die(lineno, 'counter %s not named *_total' % current)
            families[current] = parts[1]
        elif line.startswith('#') or line == '':
            die(lineno, 'unexpected %r' % line)
        else:
            name, labels, rest = parse_series(line, lineno)
            if name != current or not families[current]:
                die(lineno, 'sample %s outside its family' % name)
            if not rest.startswith(' '):
                die(lineno, 'no space before the value')
            try:
                value = float(rest[1:])
            except ValueError:
                die(lineno, 'value %r' % rest[1:])
            if families[current] == 'counter' and value < 0:
                die(lineno, 'negative counter')
            key = (name, frozenset(labels.items()))
            if key in samples:
                die(lineno, 'series twice')
            samples[key] = value
    return samples


def main():
    samples = read(sys.argv[1])
    for q in sys.argv[2:]:
        name, labels, rest = parse_series(q, 0)
        v = samples.get((name, frozenset(labels.items())))
        print('absent' if v is None else ('%d' % v if v == int(v) else v))


main()
