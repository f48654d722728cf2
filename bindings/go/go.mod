module libquota.dev/quota

go 1.19
