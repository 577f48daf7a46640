// Cairo, for PNG and SVG output.
#include <cairo.h>
#include <cairo-svg.h>
