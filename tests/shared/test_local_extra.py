"""A missing `local` extra is reported with the command that installs it, not as a bare ImportError."""
from __future__ import annotations

import pytest

from shared.runtime.extras import import_local


def test_a_missing_local_package_names_the_extra():
    with pytest.raises(RuntimeError, match=r"pip install -e '\.\[local\]'") as raised:
        import_local("replenish_no_such_package")
    assert isinstance(raised.value.__cause__, ModuleNotFoundError)


def test_an_installed_package_is_returned():
    assert import_local("json").dumps([1]) == "[1]"
