import time, pytest
@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    t=time.monotonic(); yield; d=time.monotonic()-t
    if d>0.02: print(f"\n{fixturedef.argname}: {d:.3f}")
