// ZeroMQ (Debian libzmq3-dev 4.3, built with libsodium for CURVE).
#include <zmq.h>
