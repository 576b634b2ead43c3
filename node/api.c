typedef int mrx_placeholder_t; /* replaced as the module is written */
