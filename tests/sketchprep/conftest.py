import pytest


@pytest.fixture(scope="session")
def real_sketches(read_real):
    """A few hundred real Quick, Draw! sketches."""
    return read_real(("cat", "monkey", "alarm_clock", "triangle"), 100)
