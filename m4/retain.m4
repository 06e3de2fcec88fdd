# retain.m4: configure helpers for retain.

# RETAIN_GDB_PYTHON
# -----------------
# Ask $GDB about the Python it embeds (the module must be built against that
# one, not whatever python3 is on PATH). Sets and substitutes
# GDB_PYTHON_VERSION (e.g. 3.11), GDB_PYTHON_INCLUDE (directory of Python.h),
# GDB_PYTHON_EXT_SUFFIX (e.g. .cpython-311-x86_64-linux-gnu.so) and
# PYTHON_CPPFLAGS, and checks that Python.h is there.
AC_DEFUN([RETAIN_GDB_PYTHON], [
AC_MSG_CHECKING([for the Python embedded in $GDB])
retain_gdb_py_out=`"$GDB" -nx -batch -ex 'python import sys, sysconfig, importlib.machinery as m; print("RETAIN-PY", "%d.%d" % sys.version_info[[:2]], sysconfig.get_paths()[["include"]], sysconfig.get_paths()[["platinclude"]], sysconfig.get_config_var("EXT_SUFFIX"), int(".so" in m.EXTENSION_SUFFIXES))' 2>&AS_MESSAGE_LOG_FD | sed -n 's/^RETAIN-PY //p'`
AS_IF([test -z "$retain_gdb_py_out"], [
  AC_MSG_RESULT([none])
  AC_MSG_ERROR([$GDB has no usable Python support (see config.log); retain needs a gdb built with Python 3 (Debian's gdb package has it)])])
set dummy $retain_gdb_py_out
GDB_PYTHON_VERSION=$[2]
GDB_PYTHON_INCLUDE=$[3]
GDB_PYTHON_PLATINCLUDE=$[4]
GDB_PYTHON_EXT_SUFFIX=$[5]
retain_gdb_py_plain_so=$[6]
AC_MSG_RESULT([Python $GDB_PYTHON_VERSION])
AC_MSG_NOTICE([gdb's Python: include dir $GDB_PYTHON_INCLUDE, extension suffix $GDB_PYTHON_EXT_SUFFIX])
AS_IF([test "x$retain_gdb_py_plain_so" != x1],
  [AC_MSG_ERROR([gdb's Python does not import extension modules named *.so])])
PYTHON_CPPFLAGS="-I$GDB_PYTHON_INCLUDE"
AS_IF([test "x$GDB_PYTHON_PLATINCLUDE" != "x$GDB_PYTHON_INCLUDE"],
  [PYTHON_CPPFLAGS="$PYTHON_CPPFLAGS -I$GDB_PYTHON_PLATINCLUDE"])
retain_save_CPPFLAGS=$CPPFLAGS
CPPFLAGS="$CPPFLAGS $PYTHON_CPPFLAGS"
AC_CHECK_HEADER([Python.h], [],
  [AC_MSG_ERROR([Python.h for Python $GDB_PYTHON_VERSION not found in $GDB_PYTHON_INCLUDE: install python3-dev (Debian)])])
CPPFLAGS=$retain_save_CPPFLAGS
AC_SUBST([GDB_PYTHON_VERSION])
AC_SUBST([GDB_PYTHON_INCLUDE])
AC_SUBST([GDB_PYTHON_EXT_SUFFIX])
AC_SUBST([PYTHON_CPPFLAGS])
])

# RETAIN_CHECK_LINK_FLAG(FLAGS, [ACTION-IF-OK], [ACTION-IF-NOT])
# ---------------------------------------------------------------
# Whether the C compiler compiles and links a trivial program with FLAGS.
AC_DEFUN([RETAIN_CHECK_LINK_FLAG], [
AC_MSG_CHECKING([whether $CC accepts $1])
retain_save_CFLAGS=$CFLAGS
retain_save_LDFLAGS=$LDFLAGS
CFLAGS="$CFLAGS $1"
LDFLAGS="$LDFLAGS $1"
AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
  [AC_MSG_RESULT([yes])
   $2],
  [AC_MSG_RESULT([no])
   $3])
CFLAGS=$retain_save_CFLAGS
LDFLAGS=$retain_save_LDFLAGS
])
