/* sketchprep._native: one Quick, Draw! drawing (parsed JSON lists) -> the model's (T, 7) float32 features in
 * one pass, for the service's per-request hot path. The Python wrapper and the contract are in
 * sketchprep/native.py; the reference implementation is sketchprep.preprocess.flat_to_points, whose float64
 * operations this repeats in the same order, rounding to float32 once, so the bits are the same
 * (tests/sketchprep/test_native.py). Compiled without floating-point contraction (setup.py): a fused
 * multiply-add would round differently.
 *
 * Stable ABI (Py_LIMITED_API 3.11): one binary serves every CPython >= 3.11. No numpy headers: the features
 * come back as a bytearray that the wrapper views with numpy.frombuffer.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>

#define FEATURES 7

/* One stroke's two rows (xs, ys): borrowed references, or 0 when the stroke is not [list, list] of equal,
 * non-zero length. */
static int stroke_rows(PyObject *stroke, PyObject **xs, PyObject **ys, Py_ssize_t *n) {
    if (!PyList_Check(stroke) || PyList_Size(stroke) != 2)
        return 0;
    *xs = PyList_GetItem(stroke, 0);
    *ys = PyList_GetItem(stroke, 1);
    if (!PyList_Check(*xs) || !PyList_Check(*ys))
        return 0;
    *n = PyList_Size(*xs);
    return *n > 0 && PyList_Size(*ys) == *n;
}

/* drawing_features(drawing, max_points, offset_scale)
 *   -> None, when the drawing is not the plain shape (a non-empty list of [xs, ys] lists of equal, non-zero
 *      length holding Python floats, all finite, none -0.0): the caller takes the Python path;
 *   -> (features, points, strokes, max_abs): features a bytearray of points x 7 float32 (row-major), or None
 *      when points > max_points (the sketch needs re-simplifying, in Python); points and strokes as sent;
 *      max_abs the largest |coordinate|. */
static PyObject *drawing_features(PyObject *self, PyObject *args) {
    PyObject *drawing;
    Py_ssize_t max_points;
    double offset_scale;
    (void)self;
    if (!PyArg_ParseTuple(args, "Ond", &drawing, &max_points, &offset_scale))
        return NULL;
    if (!PyList_Check(drawing))
        Py_RETURN_NONE;
    Py_ssize_t n_strokes = PyList_Size(drawing);
    if (n_strokes <= 0)
        Py_RETURN_NONE;

    /* Pass 1: the shape, the point count, the bounding box and the largest magnitude. */
    Py_ssize_t total = 0;
    double lo_x = INFINITY, lo_y = INFINITY, hi_x = -INFINITY, hi_y = -INFINITY, max_abs = 0.0;
    for (Py_ssize_t s = 0; s < n_strokes; s++) {
        PyObject *xs, *ys;
        Py_ssize_t n;
        if (!stroke_rows(PyList_GetItem(drawing, s), &xs, &ys, &n))
            Py_RETURN_NONE;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *ox = PyList_GetItem(xs, i), *oy = PyList_GetItem(ys, i);
            if (!PyFloat_Check(ox) || !PyFloat_Check(oy))
                Py_RETURN_NONE;
            double x = PyFloat_AsDouble(ox), y = PyFloat_AsDouble(oy);
            /* -0.0 left to numpy: which of two equal zeros its min/max keeps decides the sign of a zero offset */
            if (!isfinite(x) || !isfinite(y) || (x == 0.0 && signbit(x)) || (y == 0.0 && signbit(y)))
                Py_RETURN_NONE;
            if (x < lo_x) lo_x = x;
            if (x > hi_x) hi_x = x;
            if (y < lo_y) lo_y = y;
            if (y > hi_y) hi_y = y;
            if (fabs(x) > max_abs) max_abs = fabs(x);
            if (fabs(y) > max_abs) max_abs = fabs(y);
        }
        total += n;
    }
    if (total > max_points)
        return Py_BuildValue("(Onnd)", Py_None, total, n_strokes, max_abs);

    /* Pass 2: the features, as flat_to_points computes them. */
    double ex = hi_x - lo_x, ey = hi_y - lo_y;
    double extent = ex >= ey ? ex : ey;
    double scale = extent > 0.0 ? extent : 1.0;
    PyObject *out = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(total * FEATURES * sizeof(float)));
    if (out == NULL)
        return NULL;
    float *f = (float *)PyByteArray_AsString(out);
    Py_ssize_t row = 0;
    double prev_x = 0.0, prev_y = 0.0;
    for (Py_ssize_t s = 0; s < n_strokes; s++) {
        PyObject *xs, *ys;
        Py_ssize_t n;
        /* No Python code runs between the passes (a bytearray is not tracked by the garbage collector), so the
         * lists are as pass 1 saw them; checked again all the same, since a wrong count would write out of bounds. */
        if (!stroke_rows(PyList_GetItem(drawing, s), &xs, &ys, &n) || row + n > total) {
            Py_DECREF(out);
            Py_RETURN_NONE;
        }
        for (Py_ssize_t i = 0; i < n; i++, row++) {
            double ux = (PyFloat_AsDouble(PyList_GetItem(xs, i)) - lo_x) / scale;
            double uy = (PyFloat_AsDouble(PyList_GetItem(ys, i)) - lo_y) / scale;
            float *r = f + row * FEATURES;
            r[0] = (float)(2.0 * (ux - 0.5));
            r[1] = (float)(2.0 * (uy - 0.5));
            r[2] = row ? (float)(offset_scale * (ux - prev_x)) : 0.0f;  /* no offset for the first point */
            r[3] = row ? (float)(offset_scale * (uy - prev_y)) : 0.0f;
            r[4] = 1.0f;  /* pen down ... */
            r[5] = 0.0f;
            r[6] = 0.0f;
            prev_x = ux;
            prev_y = uy;
        }
        if (n_strokes > 1) {  /* ... except at a stroke's end: pen up */
            f[(row - 1) * FEATURES + 4] = 0.0f;
            f[(row - 1) * FEATURES + 5] = 1.0f;
        }
    }
    float *last = f + (total - 1) * FEATURES;  /* end of sketch */
    last[4] = 0.0f;
    last[5] = 0.0f;
    last[6] = 1.0f;
    PyObject *result = Py_BuildValue("(Onnd)", out, total, n_strokes, max_abs);
    Py_DECREF(out);
    return result;
}

static PyMethodDef methods[] = {
    {"drawing_features", drawing_features, METH_VARARGS,
     "drawing_features(drawing, max_points, offset_scale) -> None | (features | None, points, strokes, max_abs)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "sketchprep._native",
    "A drawing's model features in one compiled pass (see sketchprep/native.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
