"""The current timeline of a run.db, as docs/RUNSTORE.md defines it, for the Python checks.

A value of an incarnation of generation g at step s is current unless a later generation resumed
before s: current when s <= min(resumed_from of every generation > g), or when g is 0 or no later
generation exists. Written apart from Agon's Swift code, so that the checks are independent of it.
"""


def current_timeline(db):
    """A function (worker, incarnation, step) -> bool over an open sqlite3 connection to run.db."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "generations" not in tables:   # a run.db of schema 1 (before restarts were told apart)
        return lambda worker, incarnation, step: True
    resumed = dict(db.execute("SELECT generation, resumed_from FROM generations"))
    cutoffs = {}
    for worker, incarnation, generation in db.execute("SELECT worker, incarnation, generation FROM incarnations"):
        later = [step for number, step in resumed.items() if number > generation]
        cutoffs[(worker, incarnation)] = min(later) if generation > 0 and later else None

    def is_current(worker, incarnation, step):
        cutoff = cutoffs.get((worker, incarnation))
        return cutoff is None or step <= cutoff
    return is_current
