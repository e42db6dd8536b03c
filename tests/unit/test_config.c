/* test_config: placeholder until the suite lands. */
#include "testlib.h"

static void
placeholder(void **state)
{
    (void)state;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(placeholder)};
    return T_RUN(tests);
}
