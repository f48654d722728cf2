// The public headers compile as C++ and link with C linkage.
#include <quota/quota.h>

int main()
{
	quota_engine *e = nullptr;
	int rc = quota_engine_new(&e, nullptr);
	quota_engine_free(e);
	return rc == QUOTA_OK ? 0 : 1;
}
