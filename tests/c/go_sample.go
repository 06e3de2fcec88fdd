// go_sample.go: the Go program tests/c/test_go_naming reads the DWARF of.
// It is never run; its globals make the compiler describe the types the
// test names (a struct with a [][]byte, context chains, maps, a channel, a
// closure, sync.Map). Built by make check with the go toolchain, if any.
package main

import (
	"context"
	"fmt"
	"sync"
)

type span struct {
	name string
	id   int
	logs [][]byte
}

type ctxKey int

var (
	gctx     context.Context
	registry sync.Map
	names    = map[string]string{}
	counts   = map[int]*span{}
	anys     = map[interface{}]string{}
	holder   []*span
	anyval   interface{}
	ch       = make(chan *span, 4)
	closure  func() int
	small    [4]uint8
)

func main() {
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		ctx = context.WithValue(ctx, ctxKey(i), &span{name: fmt.Sprint(i), logs: [][]byte{make([]byte, 8)}})
	}
	gctx = ctx
	registry.Store("key", []byte("value"))
	names["k7"] = "v7"
	counts[7] = &span{}
	anys["ik"] = "iv"
	holder = append(holder, &span{})
	anyval = &span{}
	ch <- &span{}
	big := make([]int, 100)
	closure = func() int { return len(big) }
	fmt.Println(len(names), len(counts), len(anys), len(holder), anyval != nil, len(ch), closure(), small)
}
