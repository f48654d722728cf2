/* The umbrella header compiles as strict C99 (-std=c99 -pedantic -Werror
 * -Wall -Wextra); header-alone-*.c do the same for each header alone. */
#include <quota/quota.h>

int main(void)
{
	quota_engine_options o;
	return quota_engine_options_init(&o, sizeof o) == QUOTA_OK ? 0 : 1;
}
