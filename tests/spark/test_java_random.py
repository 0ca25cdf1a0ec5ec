"""Java's String.hashCode, java.util.Random and Objects.hash, against values Java prints."""

from sim_models.spark.java_random import (
    JavaRandom,
    authors_gaps_s,
    objects_hash,
    poisson_wait_ms,
    string_hash,
    to_int32,
)


def test_string_hash_matches_java():
    assert string_hash("") == 0
    assert string_hash("hello") == 99162322
    # overflow wraps to a negative int, as in Java ("polygenelubricants" hashes to MIN_VALUE)
    assert string_hash("polygenelubricants") == -(2**31)
    assert string_hash("é") == 233  # one UTF-16 code unit


def test_java_random_sequence():
    r = JavaRandom(42)
    assert r.next_double() == 0.7275636800328681
    assert r.next_double() == 0.6832234717598454
    r = JavaRandom(0)
    assert r.next_double() == 0.730967787376657
    r = JavaRandom(-1)  # negative seeds (String hashes) are sign-extended longs in Java
    assert 0.0 <= r.next_double() < 1.0


def test_objects_hash_is_arrays_hashcode():
    assert objects_hash() == 1
    assert objects_hash(5) == 31 + 5
    assert objects_hash("a", 1) == (31 * (31 + 97) + 1)
    assert objects_hash("TaskSet_9.0", 0, 9, 3, 4) == to_int32(
        ((((31 + string_hash("TaskSet_9.0")) * 31 + 0) * 31 + 9) * 31 + 3) * 31 + 4
    )


def test_poisson_wait_truncates_to_milliseconds_and_bursts():
    r = JavaRandom(string_hash("user3_smallloop100"))
    u = JavaRandom(string_hash("user3_smallloop100")).next_double()
    import math

    assert poisson_wait_ms(r, 15) == int(-math.log(u) / 15 * 60_000)
    assert poisson_wait_ms(JavaRandom(1), 0) == 0
    gaps = authors_gaps_s("user3_smallloop100", 15, 6)
    assert len(gaps) == 6 and all(g == round(g, 3) for g in gaps)
    assert authors_gaps_s("user1_power" + "loop100_1", 0, 20) == [0.0] * 20
