#ifndef HOTSTANDBY_CLIBPQ_SHIM_H
#define HOTSTANDBY_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
