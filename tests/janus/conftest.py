"""Fixtures for the Janus end-to-end tests: every process started here (Janus,
aiortc publishers, Chromium) is stopped at teardown, temp files live under
tmp_path. Missing namespace or packages fail the test with the reason; nothing
is skipped.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import janus_env  # noqa: E402


def pytest_configure(config):
    # aiortc 1.4 imports audioop (deprecated in Python 3.11): not ours to fix
    config.addinivalue_line("filterwarnings", "ignore:'audioop' is deprecated:DeprecationWarning")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    rep = (yield).get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(autouse=True)
def netns():
    problem = janus_env.in_netns_problem()
    if problem:
        pytest.fail(problem, pytrace=False)


@pytest.fixture
def janus_factory(tmp_path, request):
    """janus_factory(plugins, plugin_configs=None, **JanusServer kwargs) -> started
    JanusServer. Stopped at teardown; its log tail is printed if the test failed."""
    servers = []

    def make(plugins, plugin_configs=None, **kw):
        s = janus_env.JanusServer(tmp_path / f"janus{len(servers)}", plugins,
                                  plugin_configs, **kw)
        servers.append(s)
        return s.start()

    yield make
    failed = getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed
    for s in servers:
        s.stop()
        if failed:
            print(f"\n{s.diagnostics()}")


@pytest.fixture
def echotest_janus(janus_factory):
    return janus_factory([janus_env.ECHOTEST_PLUGIN],
                         {"janus.plugin.echotest.jcfg": "general: {\n}\n"})


@pytest.fixture
def aiortc_factory(tmp_path):
    """aiortc_factory(janus_url, plugin, body, **kw) -> running PublisherProcess."""
    import aiortc_publisher
    procs = []

    def make(*args, **kw):
        kw.setdefault("log_path", tmp_path / f"aiortc{len(procs)}.log")
        p = aiortc_publisher.PublisherProcess(*args, **kw)
        procs.append(p)
        return p

    yield make
    for p in procs:
        p.kill()


@pytest.fixture
def chromium_factory(tmp_path):
    """chromium_factory(janus_url, plugin, body, **kw) -> running ChromiumPublisher."""
    import chromium_publisher
    pubs = []

    def make(*args, **kw):
        p = chromium_publisher.ChromiumPublisher(tmp_path / f"chromium{len(pubs)}", *args, **kw)
        pubs.append(p)
        return p

    yield make
    for p in pubs:
        p.close()
