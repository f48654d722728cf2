#!/usr/bin/env python3
"""Write the seed corpus of fuzz-api (tests/fuzz/corpus/api/).

Each seed is a hand-written call sequence in the byte encoding that
fuzz-api.c decodes (decode notes beside each helper). Run from anywhere:

    python3 tests/fuzz/gen-api-seeds.py [DIR]

DIR defaults to tests/fuzz/corpus/api next to this script.
SPDX-License-Identifier: MIT
"""
import os
import sys

# Indices into fuzz-api.c's amounts[] table.
A = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 7: 6, 10: 7, 50: 8, 100: 9, -1: 10, -5: 11,
     'max': 12, 'max-1': 13, 'half': 14, '2^62': 15}
TYPES = {'cpu': 0, 'gpu': 1, 'rps': 2}
CONS = {'p0': 0, 'p1': 1, 'p2': 2, 'o0': 3, 'o1': 4}
TTL = {0: 0, 1: 2, 5: 3, 10: 4, 100: 5, 1000: 6, 30000: 7}
STEP = {0: 0, 1: 1, 2: 2, 5: 3, 10: 4, 100: 5, 1000: 6, 20000: 7}
PERIOD = {1000: 0, 60000: 1, 1: 2, 3600000: 3}


def name(n):
    return int(n[1:])


def byte_where(**fields):
    """The smallest byte whose fields, as fuzz-api.c decodes them, have
    these values; the decoder mixes % and shifts, so search."""
    decode = {
        'mod3': lambda v: v % 3, 'mod5': lambda v: v % 5,
        'shr2mod2': lambda v: (v >> 2) % 2, 'shr2mod3': lambda v: (v >> 2) % 3,
        'shr3mod3': lambda v: (v >> 3) % 3, 'shr3mod2': lambda v: (v >> 3) % 2,
    }
    for v in range(256):
        if all(decode[k](v) == want for k, want in fields.items()):
            return v
    raise ValueError(fields)


def registration(t, default, variant=0):
    """op 0: default is an amounts[] key; for rps use 0 or -1."""
    if t == 'rps':
        v = 16 if default == -1 else 32
    else:
        v = A[default]
    return [0, TYPES[t], v | variant << 6]


def registration_delete(t):
    return [1, TYPES[t]]


def grant(g, consumer, *allowances):
    """op 2: allowances are (type, [amounts]) or, for rps,
    ('rps', [(amount 0-15, period_ms, burst)])."""
    out = [2, name(g), byte_where(mod5=CONS[consumer], shr3mod2=len(allowances) - 1)]
    for t, buckets in allowances:
        out.append(byte_where(mod3=TYPES[t], shr2mod2=len(buckets) - 1))
        for b in buckets:
            if t == 'rps':
                amount, period, burst = b
                assert 0 <= amount < 10 and amount in A.values()
                out.append(amount | PERIOD[period] << 4 | burst << 6)
            else:
                out.append(A[b])
    return out


def grant_delete(g):
    return [3, name(g)]


def set_parent(p, org):
    return [4, byte_where(mod3=CONS[p], shr2mod3=2 if org is None else CONS[org] - 3)]


def claim(op, c, consumer, requests, ttl=0, queue_timeout=None):
    """ops 5 reserve, 6 acquire, 7 check: requests [(type, amount)]: one
    cpu, one gpu, cpu+gpu or gpu+cpu."""
    kinds = [t for t, _ in requests]
    shape = {('cpu',): 0, ('gpu',): 1, ('cpu', 'gpu'): 2, ('gpu', 'cpu'): 3}[tuple(kinds)]
    ttl_bits = TTL[ttl]
    if shape == 3:
        assert ttl_bits & 1, 'gpu+cpu needs an odd TTL index (bit 5 picks cpu)'
    a = (CONS[consumer] if consumer[0] == 'p' else 3 | (CONS[consumer] - 3) << 2)
    a |= shape << 3 | ttl_bits << 5
    b = A[requests[0][1]] | (A[requests[1][1]] << 4 if len(requests) > 1 else 0)
    q = 0 if queue_timeout is None else 1 | TTL[queue_timeout] << 1
    return [op, name(c), a, b, q]


def reserve(*args, **kw):
    return claim(5, *args, **kw)


def acquire(*args, **kw):
    return claim(6, *args, **kw)


def check(*args, **kw):
    return claim(7, *args, **kw)


def amounts_list(entries, minimum):
    n = len(entries)
    a = (n - minimum)
    types = [TYPES[t] for t, _ in entries] + [0] * (2 - n)
    a |= types[0] << 2 | types[1] << 4
    vals = [A[v] for _, v in entries] + [0] * (2 - n)
    return [a, vals[0] | vals[1] << 4]


def commit(c, settle=()):
    return [8, name(c)] + amounts_list(list(settle), 0)


def release(c):
    return [9, name(c)]


def resize(c, entries):
    return [10, name(c)] + amounts_list(list(entries), 1)


def consume(consumer, t, amount):
    return [11, byte_where(mod5=CONS[consumer], shr3mod3=TYPES[t]), A[amount]]


def give_back(consumer, t, amount):
    return [12, byte_where(mod5=CONS[consumer], shr3mod3=TYPES[t]), A[amount]]


def rate_take(consumer, amount):
    return [13, CONS[consumer], A[amount]]


def observe(consumer, t, value):
    return [14, byte_where(mod5=CONS[consumer], shr3mod3=TYPES[t]), A[value]]


def clock(ms, tick=False):
    return [15, STEP[ms] | (8 if tick else 0)]


SEEDS = {
    'basic': [
        reserve('c0', 'p0', [('cpu', 5)]),
        commit('c0', [('cpu', 3)]),
        consume('p0', 'cpu', 2),
        give_back('p0', 'cpu', 1),
        consume('p0', 'cpu', 10),
        resize('c0', [('cpu', 7)]),
        resize('c0', [('cpu', 0)]),
        release('c0'),
        release('c0'),
        commit('c0'),
    ],
    'retries': [
        reserve('c0', 'p0', [('cpu', 3), ('gpu', 2)]),
        reserve('c0', 'p0', [('cpu', 3), ('gpu', 2)]),
        reserve('c0', 'p0', [('cpu', 4), ('gpu', 2)]),
        acquire('c0', 'p0', [('cpu', 3), ('gpu', 2)]),
        acquire('c0', 'p0', [('cpu', 3), ('gpu', 2)]),
        check('c0', 'p0', [('cpu', 7)]),
        check('c1', 'p0', [('cpu', 10)]),
        reserve('c1', 'o0', [('cpu', 1)]),
        reserve('c2', 'p1', [('cpu', 0)]),
        release('c0'),
        reserve('c0', 'p1', [('cpu', 4)]),
    ],
    'hierarchy': [
        set_parent('p0', 'o0'),
        set_parent('p1', 'o0'),
        grant('g0', 'o0', ('cpu', [5, 1])),
        acquire('c0', 'p0', [('cpu', 4)]),
        acquire('c1', 'p1', [('cpu', 4)]),
        consume('p1', 'cpu', 2),
        set_parent('p0', 'o1'),
        set_parent('p2', 'o1'),
        release('c0'),
        set_parent('p0', 'o1'),
        grant('g0', 'o0', ('cpu', [-1])),
        acquire('c1', 'p1', [('cpu', 4)]),
        observe('o0', 'cpu', 50),
        set_parent('p1', None),
    ],
    'ttl': [
        reserve('c0', 'p0', [('cpu', 5)], ttl=10),
        reserve('c1', 'p0', [('cpu', 5)], ttl=1000),
        clock(100),
        commit('c0'),
        reserve('c2', 'p0', [('cpu', 5)], ttl=5),
        clock(5),
        reserve('c0', 'p0', [('cpu', 5)]),
        clock(20000),
        commit('c1'),
        release('c1'),
        clock(0, tick=True),
    ],
    'queue': [
        reserve('c0', 'p0', [('gpu', 10)]),
        acquire('c1', 'p0', [('gpu', 5)]),
        reserve('c2', 'p0', [('gpu', 3)], queue_timeout=100),
        reserve('c1', 'p0', [('gpu', 5)]),
        commit('c1'),
        release('c0'),
        clock(100),
        acquire('c3', 'p0', [('gpu', 5)]),
        grant('g0', 'p0', ('gpu', [50])),
        clock(1, tick=True),
    ],
    'overflow': [
        grant('g0', 'p0', ('cpu', ['max'])),
        grant('g1', 'p0', ('cpu', [5])),
        grant('g1', 'p0', ('cpu', ['max-1', 'max-1'])),
        grant('g1', 'p0', ('cpu', [-1])),
        consume('p0', 'cpu', 'max-1'),
        consume('p0', 'cpu', 5),
        reserve('c0', 'p0', [('cpu', 'max')]),
        grant('g2', 'p1', ('gpu', [-5])),
        grant('g2', 'p1', ('gpu', [0])),
        acquire('c1', 'p1', [('gpu', 1)]),
    ],
    'rates': [
        registration('rps', 0),
        rate_take('p0', 1),
        grant('g0', 'p0', ('rps', [(2, 1000, 0)])),
        rate_take('p0', 1),
        rate_take('p0', 1),
        rate_take('p0', 1),
        clock(1000, tick=True),
        rate_take('p0', 2),
        rate_take('p0', 'max'),
        registration('rps', -1),
        rate_take('p1', 3),
        consume('p1', 'rps', 3),
        give_back('p1', 'rps', 3),
    ],
    'registrations': [
        consume('p0', 'cpu', 3),
        registration_delete('cpu'),
        give_back('p0', 'cpu', 3),
        registration_delete('cpu'),
        consume('p0', 'cpu', 1),
        registration('cpu', 2),
        registration('cpu', 2, variant=2),
        registration('gpu', 5, variant=3),
        registration('cpu', -5),
        consume('p0', 'cpu', 3),
        registration('cpu', -1),
        consume('p0', 'cpu', 3),
    ],
    'observed': [
        observe('p0', 'cpu', 7),
        reserve('c0', 'p0', [('cpu', 3)]),
        observe('p0', 'cpu', 2),
        reserve('c0', 'p0', [('cpu', 3)]),
        observe('p0', 'cpu', -5),
        observe('p0', 'gpu', 'max'),
        acquire('c1', 'p0', [('gpu', 1)]),
        observe('p0', 'gpu', 0),
    ],
}

# Inputs on which fuzz-api found engine bugs (fixed): kept as seeds so that
# every stage of the test suite replays them.
BUGS = {
    'queue-above-limit': [
        reserve('c0', 'p0', [('gpu', 10)]),
        acquire('c1', 'p0', [('gpu', 5)]),
        acquire('c2', 'p0', [('gpu', 50)]),
    ],
    'queue-no-sweep': [
        reserve('c0', 'p0', [('gpu', 7)], ttl=5),
        clock(100),
        reserve('c1', 'p0', [('gpu', 4)]),
    ],
    'overflow-no-sweep': [
        grant('g0', 'p0', ('cpu', [-1])),
        reserve('c0', 'p0', [('cpu', 'max-1')], ttl=5),
        clock(100),
        check('c1', 'p0', [('cpu', 5)]),
    ],
}


def write(directory, seeds):
    os.makedirs(directory, exist_ok=True)
    for seed, ops in seeds.items():
        data = bytes([0] + [b for op in ops for b in op])
        with open(os.path.join(directory, seed + '.bin'), 'wb') as f:
            f.write(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    write(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, 'corpus', 'api'),
          {**SEEDS, **BUGS})


if __name__ == '__main__':
    main()
