# The spoken challenge's order check: the words must be heard in the order the board drew them.
# rows[i][j] = the keyword model's logit of challenge word j on segment i (segment i should be
# word i). The drawn order must score strictly higher than every other order of the same words,
# so a recording of the right words in another order fails even where the keyword model hears
# each word only weakly (left / right, on / off). At most 4 words: 23 other orders. Pure
# Python: the host's `eyeauth eval liveness` imports this same file.


def _perms(items):
    if len(items) <= 1:
        yield list(items)
        return
    for i in range(len(items)):
        rest = items[:i] + items[i + 1:]
        for p in _perms(rest):
            yield [items[i]] + p


def order_ok(rows):
    n = len(rows)
    if n == 0:
        return False
    own = 0.0
    for i in range(n):
        own += rows[i][i]
    ident = list(range(n))
    for perm in _perms(ident):
        if perm == ident:
            continue
        s = 0.0
        for i in range(n):
            s += rows[i][perm[i]]
        if s >= own:
            return False
    return True
