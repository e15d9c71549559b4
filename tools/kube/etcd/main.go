// Command etcd is the etcd server of go.etcd.io/etcd/server/v3, at the version k8s.io/kubernetes
// itself requires (go.mod), so kube-apiserver's etcd client and the server match.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
