"""The fast lane's claim sends each column as one PostgreSQL array literal."""
from services.ingest.repository import float_array, text_array


def test_text_array_quotes_every_element_so_syntax_stays_text():
    assert text_array(["a,b", "{x}", "NULL", "x y", "店"]) == '{"a,b","{x}","NULL","x y","店"}'


def test_text_array_declines_quotes_and_backslashes():
    assert text_array(["ok", 'q"uote']) is None
    assert text_array(["back\\slash"]) is None


def test_float_array_keeps_every_digit():
    assert float_array([-24.0, 0.1, 1e16, -1.2345678901234567]) == "{-24.0,0.1,1e+16,-1.2345678901234567}"
