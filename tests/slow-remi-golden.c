/* slow-remi-golden.c: the REMI golden check over all 180 inputs of both configurations, and longer
 * random grammar walks. It is test-remi.c built with TX_REMI_SLOW_ALL; see that file. */
#define TX_REMI_SLOW_ALL 1
#include "test-remi.c"
