/* Building single graph nodes for the operator tests. */
#ifndef NH_TESTS_NODE_HELPERS_H
#define NH_TESTS_NODE_HELPERS_H

#include <string.h>

#include "model/graph.h"

/* A node of operator op with ONNX's default attributes. */
static inline nh_node make_node(nh_op op, const char *type)
{
    nh_node n;

    memset(&n, 0, sizeof n);
    n.op = op;
    n.name = (char *)"test";
    n.op_type = (char *)type;
    nh_attrs_default(&n.a);
    return n;
}

#endif
