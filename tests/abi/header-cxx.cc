// The umbrella header compiles as C++11 and links with C linkage;
// header-alone-*.cc compile each header alone.
#include <quota/quota.h>

int main()
{
	quota_engine *e = nullptr;
	int rc = quota_engine_new(&e, nullptr);
	quota_engine_free(e);
	return rc == QUOTA_OK ? 0 : 1;
}
