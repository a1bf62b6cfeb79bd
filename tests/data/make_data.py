#!/usr/bin/python3
"""Writes the small input files of tests/test_data.c into tests/data/samples/.

Run with Debian's python3 and numpy: /usr/bin/python3 tests/data/make_data.py
The files are committed; this script documents how they were made and what
numpy reads from them.

manifest.txt holds one line per readable file:
    name count ndim dim... value...
with every value as numpy reads it, converted to float64 then float32 (the
order nnheat converts in), printed with 9 significant digits. The C test
reads each file and compares.
"""
import gzip
import io
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "samples")
FASHION = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

manifest = []


def path(name):
    return os.path.join(OUT, name)


def expect(name, arr, sample_shape=None):
    """Records what reading `name` must give: arr's samples as float32."""
    arr = np.asarray(arr)
    shape = arr.shape[1:] if sample_shape is None else sample_shape
    values = np.ascontiguousarray(arr).astype(np.float64).astype(np.float32).ravel()
    fields = [name, str(arr.shape[0]), str(len(shape))] + [str(d) for d in shape]
    fields += ["%.9g" % v for v in values]
    manifest.append(" ".join(fields))


def save(name, arr, version=None):
    with open(path(name), "wb") as f:
        np.lib.format.write_array(f, arr, version=version, allow_pickle=False)


def gz_open(name, mode="wb"):
    """A gzip file with no time stamp, so that rerunning gives the same bytes."""
    return gzip.GzipFile(name, mode, mtime=0)


def save_gz(name, arr):
    with gz_open(path(name)) as f:
        np.lib.format.write_array(f, arr, allow_pickle=False)


def raw_npy(name, header, data=b"", major=1, opener=open, header_len=None):
    """A .npy written by hand: the header text is used as given, padded."""
    text = header.encode("utf-8")
    pre = 10 if major == 1 else 12
    pad = (-(pre + len(text) + 1)) % 64
    text = text + b" " * pad + b"\n"
    n = len(text) if header_len is None else header_len
    length = struct.pack("<H", n) if major == 1 else struct.pack("<I", n)
    with opener(path(name), "wb") as f:
        f.write(b"\x93NUMPY" + bytes([major, 0]) + length + text + data)


def values_for(dtype):
    """12 values that fit dtype, its extremes first."""
    dt = np.dtype(dtype)
    rng = np.random.default_rng(12345)
    if dt.kind == "b":
        return np.array([True, False, True, True, False, False] * 2, dtype=dt)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        rest = rng.integers(max(info.min, -1000), min(info.max, 1000), 10)
        return np.concatenate([np.array([info.min, info.max], dtype=dt), rest.astype(dt)])
    if dt.itemsize == 2:
        special = [65504.0, -6.0e-8, 0.5, -0.0]  # largest, subnormal
    elif dt.itemsize == 4:
        special = [3.4e38, 1.4e-45, -1.5, 1e-3]
    else:
        special = [1e30, 1e-300, -2.5, 1 / 3]
    rest = rng.normal(0, 100, 8)
    return np.concatenate([special, rest]).astype(dt)


def write_dtypes():
    for code in ["b1", "i1", "u1", "i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8"]:
        orders = "|" if code[1] == "1" else "<>"
        for order in orders:
            dt = np.dtype(order + code if order != "|" else code)
            arr = values_for(dt).reshape(3, 2, 2)
            tag = {"<": "le", ">": "be", "|": "na"}[order]
            name = "dtype_%s_%s.npy" % (code, tag)
            save(name, arr)
            expect(name, arr)
    # '=' (native order) never comes from numpy itself: write it by hand.
    arr = np.arange(6, dtype="<i4").reshape(3, 2) - 2
    raw_npy("dtype_i4_native.npy",
            "{'descr': '=i4', 'fortran_order': False, 'shape': (3, 2), }", arr.tobytes())
    expect("dtype_i4_native.npy", arr)


def write_versions_and_headers():
    arr = (np.arange(24, dtype="<f4") * 0.25 - 3).reshape(4, 2, 3)
    for v in [(1, 0), (2, 0), (3, 0)]:
        name = "version_%d.npy" % v[0]
        save(name, arr, version=v)
        expect(name, arr)
    data = arr.tobytes()
    raw_npy("header_order.npy",
            '{"shape": (4, 2, 3), "fortran_order": False, "descr": "<f4"}', data)
    expect("header_order.npy", arr)
    raw_npy("header_py2.npy",
            "{ 'descr' : '<f4' ,'fortran_order':False,'shape':(4L,2L,3L),   }", data)
    expect("header_py2.npy", arr)
    raw_npy("header_extra_key.npy",
            "{'descr': '<f4', 'note': ('a', [1, 2], {'b': None}), 'fortran_order': False,"
            " 'shape': (4, 2, 3)}", data, major=2)
    expect("header_extra_key.npy", arr)
    # Version 3 allows utf-8 in the header (here in an extra key).
    raw_npy("header_utf8.npy",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2, 3), 'n\u00e9': 1}",
            data, major=3)
    expect("header_utf8.npy", arr)


def write_fortran_and_gz():
    a = (np.arange(60, dtype=np.float32) * 1.5 - 7).reshape(5, 3, 4)
    save("fortran_f4.npy", np.asfortranarray(a))
    expect("fortran_f4.npy", a)
    b = (np.arange(24).reshape(4, 3, 2) * 37 - 400).astype(">i2")
    save("fortran_i2_be.npy", np.asfortranarray(b))
    expect("fortran_i2_be.npy", b)
    c = np.arange(2 * 3 * 2 * 2, dtype=np.uint8).reshape(2, 3, 2, 2)
    save("fortran_u1_4d.npy", np.asfortranarray(c))
    expect("fortran_u1_4d.npy", c)
    d = np.linspace(-1, 1, 7 * 5).reshape(7, 5)
    save_gz("fortran_f8.npy.gz", np.asfortranarray(d))
    expect("fortran_f8.npy.gz", d)
    e = np.arange(30, dtype="<u2").reshape(10, 3) * 1000
    save_gz("c_u2.npy.gz", e)
    expect("c_u2.npy.gz", e)
    f = np.array([3.5, -1, 2, 0, 7], dtype="<f8")
    save("scalars.npy", f)
    expect("scalars.npy", f.reshape(5), sample_shape=())


def idx_bytes(arr, code):
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.tobytes()


def write_idx():
    rng = np.random.default_rng(7)
    cases = [
        ("idx_u8-idx3-ubyte", 0x08, rng.integers(0, 256, (4, 3, 2)).astype(">u1")),
        ("idx_i8.idx", 0x09, rng.integers(-128, 128, (3, 5)).astype(">i1")),
        ("idx_i16.idx", 0x0B, rng.integers(-32768, 32768, (3, 2, 2)).astype(">i2")),
        ("idx_i32.idx", 0x0C, np.array([[-2**31, 2**31 - 1], [5, -6], [7, 8]], dtype=">i4")),
        ("idx_f32.idx", 0x0D, rng.normal(0, 10, (2, 3)).astype(">f4")),
        ("idx_f64.idx", 0x0E, rng.normal(0, 1e5, (3, 2)).astype(">f8")),
        ("idx_labels-idx1-ubyte", 0x08, np.array([3, 1, 4, 1, 5, 9], dtype=">u1")),
        ("idx_named.dat", 0x0B, (np.arange(8).reshape(2, 4) - 4).astype(">i2")),
    ]
    for name, code, arr in cases:
        with open(path(name), "wb") as f:
            f.write(idx_bytes(arr, code))
        expect(name, arr)
    arr = rng.integers(0, 256, (6, 4, 4)).astype(">u1")
    with gz_open(path("idx_u8_gz-idx3-ubyte.gz")) as f:
        f.write(idx_bytes(arr, 0x08))
    expect("idx_u8_gz-idx3-ubyte.gz", arr)


def write_csv():
    a = np.array([[1.5, -2, 3e-3], [4, 5.25, -6e10], [0, 1, 2], [7, 8, 9]])
    with open(path("plain.csv"), "w") as f:
        f.write("1.5,-2,3e-3\n4,5.25,-6e10\n0,1,2\n7,8,9\n")
    expect("plain.csv", a)
    with open(path("header.csv"), "w") as f:
        f.write("x, y ,z\n 1.5 ,-2,3e-3\n4,5.25,-6e10\n0,1,2\n7,8,9\n\n\n")
    expect("header.csv", a)
    with open(path("semicolon.csv"), "w") as f:
        f.write("a;b;c\r\n1.5;-2;3e-3\r\n4;5.25;-6e10\r\n0;1;2\r\n7;8;9")
    expect("semicolon.csv", a)
    with open(path("tabs.txt"), "w") as f:
        f.write("1.5\t-2\t3e-3\n4\t5.25\t-6e10\n0\t1\t2\n7\t8\t9\n")
    expect("tabs.txt", a)
    np.savetxt(path("savetxt.txt"), a)
    expect("savetxt.txt", a)
    with gz_open(path("gz.csv.gz")) as f:
        f.write(b"p0,p1,p2\n1.5,-2,3e-3\n4,5.25,-6e10\n0,1,2\n7,8,9\n")
    expect("gz.csv.gz", a)
    with open(path("tabs.tsv"), "w") as f:
        f.write("a\tb\tc\n1.5\t-2\t3e-3\n4\t5.25\t-6e10\n0\t1\t2\n7\t8\t9\n")
    expect("tabs.tsv", a)
    with open(path("quoted.csv"), "w") as f:
        f.write('"x","y","z"\n"1.5","-2",3e-3\n4,5.25,"-6e10"\n0,1,2\n7,8,9\n')
    expect("quoted.csv", a)
    with open(path("one_column.csv"), "w") as f:
        f.write("value\n1\n2\n3\n")
    expect("one_column.csv", np.array([[1], [2], [3]]))


def write_errors():
    open(path("empty.npy"), "wb").close()
    open(path("empty.csv"), "wb").close()
    open(path("empty.dat"), "wb").close()
    with open(path("unknown.bin"), "w") as f:
        f.write("hello, this is not data\n")
    # 20 samples of (7,) float32 announced, 10 samples and 12 bytes present.
    full = np.arange(140, dtype="<f4").reshape(20, 7)
    cut = full.tobytes()[: 10 * 28 + 12]
    raw_npy("truncated.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (20, 7), }", cut)
    raw_npy("truncated.npy.gz", "{'descr': '<f4', 'fortran_order': False, 'shape': (20, 7), }",
            cut, opener=gz_open)
    raw_npy("truncated_fortran.npy",
            "{'descr': '<f4', 'fortran_order': True, 'shape': (20, 7), }", cut)
    with open(path("truncated_header.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fort")
    with open(path("truncated_magic.npy"), "wb") as f:
        f.write(b"\x93NUM")
    raw_npy("bad_header.npy", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }",
            b"\0" * 8)
    raw_npy("no_shape.npy", "{'descr': '<f4', 'fortran_order': False}", b"\0" * 8)
    raw_npy("version4.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
            b"\0" * 8)
    with open(path("version4.npy"), "r+b") as f:
        f.seek(6)
        f.write(b"\x04")
    raw_npy("fortran_huge.npy.gz",
            "{'descr': '<f8', 'fortran_order': True, 'shape': (100000, 100000), }",
            b"\0" * 64, opener=gz_open)

    # A gzip stream cut short inside the data.
    with open(path("cut_stream.npy.gz"), "wb") as f:
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.random.default_rng(3).normal(size=(50, 40)))
        whole = gzip.compress(buf.getvalue(), mtime=0)
        f.write(whole[: len(whole) // 2])

    # A gzip stream whose CRC does not match, and one cut inside its header.
    whole = bytearray(gzip.compress(buf.getvalue(), mtime=0))
    whole[-8] ^= 0xFF
    with open(path("bad_crc.npy.gz"), "wb") as f:
        f.write(whole)
    with open(path("cut_gzip_header.npy.gz"), "wb") as f:
        f.write(whole[:6])

    a = np.arange(12, dtype="<f4").reshape(4, 3)
    a[2, 1] = np.nan
    save("nan.npy", a)
    b = np.zeros((3, 2), dtype="<f8")
    b[1, 0] = -np.inf
    save("inf.npy", b)
    save("huge_f8.npy", np.full((2, 2), 1e300))
    save("complex.npy", np.zeros((2, 2), dtype=np.complex128))
    save("unicode.npy", np.array([["ab", "c"]] * 2))
    save("structured.npy", np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")]))
    save("datetime.npy", np.zeros(3, dtype="datetime64[s]"))
    with open(path("object.npy"), "wb") as f:
        np.lib.format.write_array(f, np.array([None, 1], dtype=object), allow_pickle=True)
    save("zero_d.npy", np.float32(3))
    save("zero_samples.npy", np.zeros((0, 3), dtype="<f4"))
    save("zero_values.npy", np.zeros((3, 0), dtype="<f4"))
    save("shape_28x27.npy", np.zeros((2, 28, 27), dtype=np.uint8))
    with open(path("idx_truncated-idx3-ubyte"), "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">II", 10, 28))

    csvs = {
        "bad_fields.csv": "1,2,3\n4,5,6\n7,8\n",
        "bad_word.csv": "a,b\n1,2\n3,4\n5,abc\n",
        "bad_empty_field.csv": "1,2,3\n4,,6\n",
        "bad_blank_line.csv": "1,2\n\n3,4\n",
        "bad_mixed.csv": "1,2;3\n",
        "nan.csv": "1,2\n3,nan\n",
        "header_only.csv": "a,b,c\n",
    }
    for name, text in csvs.items():
        with open(path(name), "w") as f:
            f.write(text)


def write_fashion():
    """The first and the last image of Fashion-MNIST's test set, as numpy
    reads them, when Debian's dataset-fashion-mnist is installed."""
    if not os.path.exists(FASHION):
        return
    with gzip.open(FASHION, "rb") as f:
        raw = f.read()
    n, rows, cols = struct.unpack(">III", raw[4:16])
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows, cols)
    with open(path("fashion_mnist_t10k.txt"), "w") as f:
        f.write("%d %d %d\n" % (n, rows, cols))
        f.write(" ".join(str(v) for v in images[0].ravel()) + "\n")
        f.write(" ".join(str(v) for v in images[-1].ravel()) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    write_dtypes()
    write_versions_and_headers()
    write_fortran_and_gz()
    write_idx()
    write_csv()
    write_errors()
    write_fashion()
    with open(path("manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    # Check that numpy reads the hand-written files as intended (it rejects
    # keys other than the three it writes, which nnheat ignores).
    for line in manifest:
        name = line.split()[0]
        if name.endswith(".npy") and name not in ("header_extra_key.npy", "header_utf8.npy"):
            np.load(path(name))


if __name__ == "__main__":
    main()
