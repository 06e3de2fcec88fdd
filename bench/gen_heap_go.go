// gen_heap_go: build a big Go heap with a pointer graph, then wait to be
// gcore'd.  The Go counterpart of gen_heap.c, for bench/run_go.sh.
//
//	go build -o gen_heap_go bench/gen_heap_go.go      (Go 1.19; no go.mod)
//	gen_heap_go [options] [OUT.json]
//	  -n N    small objects to plant: nodes, payload arrays, maps (hmap and
//	          bucket array), pointer slices, names (default 10500000, so the
//	          heap holds over 10 million objects)
//	  -c N    deep chain length (default 1000000)
//	  -B MiB  minimum heap bytes in use (runtime.MemStats.HeapAlloc after
//	          the final GC); pointer-free []byte buffers are added until it
//	          is reached (default 2048 = 2 GiB)
//	  -g N    nodes held by the holder goroutine's locals (default 100000)
//	  -s S    PRNG seed (default 1)
//
// Shape of the heap (deterministic for a given seed, up to Go's allocator):
//   - gChain -> node -> node -> ... (-c nodes, `next` only), linked in a
//     random order of an interleaved allocation, so consecutive hops jump
//     around the spans.  Nothing else points into the chain: the tail's only
//     path from a root has -c hops.  The tail's address is the query (TAIL).
//   - gTrees[4]: complete binary trees of 131,071 nodes (next=left, right).
//   - gLists[8192]: singly linked lists holding every other node.
//   - cross pointers: half of the list/tree nodes -> a random list/tree node.
//   - payload: a quarter of the list/tree nodes own a []uint64 of 4..96
//     small integers (a pointer-free object); one in eight a name string.
//   - gIndex[]: maps map[uint64]*node of 8..24 random list/tree nodes (hmap
//     plus bucket objects).
//   - gGroups: [][]*node, pointer slices of 4..64 random list/tree nodes.
//   - gBufs: [][]byte, pointer-free buffers of 16..256 KiB, added last until
//     the heap holds -B MiB.
//   - a holder goroutine keeps a list of -g nodes and a map in its locals and
//     blocks forever on a channel receive.
//
// The GC is off while building (debug.SetGCPercent(-1)); one runtime.GC()
// before the buffers (to measure the live bytes) and one at the end free the
// helper arrays and the build garbage.  Then it prints
//
//	TAIL 0x...                  the chain's tail (the benchmark query)
//	HEAP_LO 0x... HEAP_HI 0x... the object addresses' range, widened to 64 MiB
//	                            (Go's arena size): the floor's heap range
//	OBJECTS n                   MemStats.HeapObjects after the final GC
//	BYTES n                     MemStats.HeapAlloc after the final GC
//	READY
//
// writes OUT.json (the same and more) when given, and sleeps forever.
// Addresses are kept only as pointers in the graph or XOR-ed with a mask
// until printed, so no stray pointer-typed copy of the tail exists.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"
	"unsafe"
)

const (
	mask     = uintptr(0x5a5a5a5a5a5a5a5a)
	nLists   = 8192
	nTrees   = 4
	arenaSz  = 64 << 20
	treeMaxD = 17
)

type node struct {
	next  *node // chain/list: next; tree: left
	right *node // tree: right
	cross *node // a random list/tree node, or nil
	id    uint64
	data  []uint64 // pointer-free payload, or nil
	name  string
}

// Roots (package globals: data/bss).
var (
	gChain  *node
	gTrees  [nTrees]*node
	gLists  [nLists]*node
	gIndex  []map[uint64]*node
	gGroups [][]*node
	gBufs   [][]byte
)

var rngState uint64

func rnd() uint64 { // splitmix64
	rngState += 0x9e3779b97f4a7c15
	z := rngState
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func rndn(n uint64) uint64 { return rnd() % n }

// Address range of everything planted (plain integers, not pointers).
var addrLo, addrHi uintptr = ^uintptr(0), 0

func note(p unsafe.Pointer, size uintptr) {
	a := uintptr(p)
	if a < addrLo {
		addrLo = a
	}
	if a+size > addrHi {
		addrHi = a + size
	}
}

type counts struct {
	Nodes, ChainNodes, TreeNodes, ListNodes, Payloads, Names int64
	Maps, MapEntries, Groups, GroupPointers, Buffers, Holder int64
	PlantedObjects                                           int64 // what this program allocated on purpose (map buckets estimated)
	PlantedEdges                                             int64 // node->node pointers, map values, group slots
	BufferBytes                                              uint64
}

var C counts

const (
	kList = iota
	kChain
	kTree
)

func newNode(kind uint8, idx uint64) *node {
	n := &node{id: uint64(kind+1)<<56 | idx}
	note(unsafe.Pointer(n), unsafe.Sizeof(*n))
	C.Nodes++
	C.PlantedObjects++
	if kind == kChain {
		return n
	}
	r := rnd()
	if r%4 == 0 {
		w := 4 + (r>>8)%93
		d := make([]uint64, w)
		for i := range d {
			d[i] = uint64(uint32(idx*2654435761 + uint64(i)*40503))
		}
		note(unsafe.Pointer(&d[0]), uintptr(w)*8)
		n.data = d
		C.Payloads++
		C.PlantedObjects++
	}
	if (r>>20)%8 == 0 {
		n.name = "node-" + strconv.FormatUint(idx, 10)
		C.Names++
		C.PlantedObjects++
	}
	return n
}

// approxPerNode: objects per list/tree node on average (the node, 1/4 of a
// payload array, 1/8 of a name).
const approxPerNode = 1.375

type params struct {
	n, chain, holder int64
	minBytes, seed   uint64
}

// holder keeps a list and a map only in its own locals.
func holder(n int64, ready chan<- uintptr, never <-chan struct{}) {
	var head *node
	m := make(map[uint64]*node)
	for i := int64(0); i < n; i++ {
		x := newNode(kList, uint64(i)|1<<40)
		x.next = head
		if head != nil {
			C.PlantedEdges++
		}
		head = x
		if i%64 == 0 {
			m[uint64(i)] = x
			C.PlantedEdges++
		}
	}
	C.Holder = n
	ready <- 0
	<-never
	runtime.KeepAlive(head)
	runtime.KeepAlive(m)
}

//go:noinline
func build(P *params) (tailMasked uintptr, chainLen int64) {
	rngState = P.seed
	// holder goroutine first, so its nodes sit at the start of the spans
	ready := make(chan uintptr)
	never := make(chan struct{})
	if P.holder > 0 {
		go holder(P.holder, ready, never)
		<-ready
	}
	keepNever = never

	// budget of small objects: holder, chain, trees; the rest are list nodes
	// (with their payloads and names), map objects and pointer slices.
	depth := treeMaxD
	for depth > 1 && int64(nTrees)*((1<<depth)-1) > P.n/10 {
		depth--
	}
	treeNodes := int64(1<<depth) - 1
	// ~4% of the budget goes to maps (hmap + bucket array) and pointer slices
	nMaps := P.n / 160
	nGroups := P.n / 40
	rest := P.n - C.PlantedObjects - P.chain - nMaps*2 - nGroups
	nNodes := P.chain + int64(float64(rest)/approxPerNode)
	if nNodes < P.chain+nTrees*treeNodes+nLists {
		fmt.Fprintf(os.Stderr, "gen_heap_go: -n %d too small for -c %d\n", P.n, P.chain)
		os.Exit(2)
	}

	// kinds in a shuffled order, so chain, tree and list nodes interleave
	kind := make([]uint8, nNodes)
	k := int64(0)
	for i := int64(0); i < P.chain; i++ {
		kind[k] = kChain
		k++
	}
	for i := int64(0); i < nTrees*treeNodes; i++ {
		kind[k] = kTree
		k++
	}
	for ; k < nNodes; k++ {
		kind[k] = kList
	}
	for i := nNodes - 1; i > 0; i-- {
		j := int64(rndn(uint64(i + 1)))
		kind[i], kind[j] = kind[j], kind[i]
	}
	blk := make([]*node, nNodes)
	for i := int64(0); i < nNodes; i++ {
		blk[i] = newNode(kind[i], uint64(i))
	}

	chain := make([]int32, 0, P.chain)
	tree := make([]int32, 0, nTrees*treeNodes)
	pool := make([]int32, 0, nNodes-P.chain) // list + tree: cross targets
	for i := int64(0); i < nNodes; i++ {
		switch kind[i] {
		case kChain:
			chain = append(chain, int32(i))
		case kTree:
			tree = append(tree, int32(i))
			pool = append(pool, int32(i))
		default:
			pool = append(pool, int32(i))
		}
	}
	kind = nil

	// deep chain in random order
	for i := len(chain) - 1; i > 0; i-- {
		j := int(rndn(uint64(i + 1)))
		chain[i], chain[j] = chain[j], chain[i]
	}
	for i := 0; i+1 < len(chain); i++ {
		blk[chain[i]].next = blk[chain[i+1]]
		C.PlantedEdges++
	}
	gChain = blk[chain[0]]
	tailMasked = uintptr(unsafe.Pointer(blk[chain[len(chain)-1]])) ^ mask
	chainLen = int64(len(chain))
	C.ChainNodes = chainLen
	for _, c := range chain {
		blk[c] = nil // only the chain itself refers to its nodes now
	}
	chain = nil

	// complete binary trees
	for t := int64(0); t < nTrees; t++ {
		tn := tree[t*treeNodes : (t+1)*treeNodes]
		for j := int64(0); j < treeNodes; j++ {
			x := blk[tn[j]]
			if 2*j+1 < treeNodes {
				x.next = blk[tn[2*j+1]]
				C.PlantedEdges++
			}
			if 2*j+2 < treeNodes {
				x.right = blk[tn[2*j+2]]
				C.PlantedEdges++
			}
		}
		gTrees[t] = blk[tn[0]]
	}
	C.TreeNodes = int64(len(tree))
	tree = nil

	// lists: push-front onto a random head
	for _, i := range pool {
		x := blk[i]
		if x.id>>56 != kList+1 {
			continue
		}
		h := rndn(nLists)
		if gLists[h] != nil {
			C.PlantedEdges++
		}
		x.next = gLists[h]
		gLists[h] = x
		C.ListNodes++
	}

	// cross pointers
	np := uint64(len(pool))
	for _, i := range pool {
		if rnd()&1 == 0 {
			continue
		}
		blk[i].cross = blk[pool[rndn(np)]]
		C.PlantedEdges++
	}

	// index maps
	gIndex = make([]map[uint64]*node, nMaps)
	C.PlantedObjects++
	for i := range gIndex {
		e := 8 + int(rndn(17))
		m := make(map[uint64]*node)
		for j := 0; j < e; j++ {
			x := blk[pool[rndn(np)]]
			m[x.id] = x
		}
		gIndex[i] = m
		C.Maps++
		C.MapEntries += int64(len(m))
		C.PlantedEdges += int64(len(m))
		C.PlantedObjects += 2 // hmap + bucket array (B=1 or 2 for 8..24 entries)
	}

	// pointer slices
	gGroups = make([][]*node, nGroups)
	C.PlantedObjects++
	for i := range gGroups {
		g := make([]*node, 4+rndn(61))
		for j := range g {
			g[j] = blk[pool[rndn(np)]]
		}
		note(unsafe.Pointer(&g[0]), uintptr(len(g))*8)
		gGroups[i] = g
		C.Groups++
		C.GroupPointers += int64(len(g))
		C.PlantedEdges += int64(len(g))
		C.PlantedObjects++
	}
	blk, pool = nil, nil
	return
}

var keepNever chan struct{}

// fill tops the heap up with pointer-free buffers until HeapAlloc reaches min.
//
//go:noinline
func fill(P *params) {
	var ms runtime.MemStats
	runtime.GC() // drop the helper arrays before measuring
	runtime.ReadMemStats(&ms)
	have := ms.HeapAlloc
	var bufs [][]byte
	for have < P.minBytes {
		sz := (16 + rndn(241)) << 10
		b := make([]byte, sz)
		for i := 0; i < len(b); i += 4096 { // touch every page, no pointer-like words
			b[i] = byte(i >> 12)
		}
		note(unsafe.Pointer(&b[0]), uintptr(sz))
		bufs = append(bufs, b)
		have += sz
		C.Buffers++
		C.BufferBytes += sz
		C.PlantedObjects++
	}
	gBufs = bufs
}

func hex(v uintptr) string { return "0x" + strconv.FormatUint(uint64(v), 16) }

// report prints the READY block and writes OUT.json.  The tail's address is
// unmasked only here and only formatted as text (no boxed copy of it), and
// this frame is dead once READY is printed.
//
//go:noinline
func report(P *params, tailMasked uintptr, chainLen int64, ms *runtime.MemStats, tBuild, tEnd time.Duration) {
	lo := addrLo &^ (arenaSz - 1)
	hi := (addrHi + arenaSz - 1) &^ (arenaSz - 1)
	tail := hex(tailMasked ^ mask)
	os.Stdout.WriteString("TAIL " + tail + "\n" +
		"HEAP_LO " + hex(lo) + " HEAP_HI " + hex(hi) + "\n" +
		"OBJECTS " + strconv.FormatUint(ms.HeapObjects, 10) + "\n" +
		"BYTES " + strconv.FormatUint(ms.HeapAlloc, 10) + "\n")
	if flag.NArg() == 1 {
		out := map[string]any{
			"query": tail, "chain_len": chainLen,
			"heap_lo": hex(lo), "heap_hi": hex(hi), "heap_range_bytes": uint64(hi - lo),
			"heap_objects": ms.HeapObjects, "heap_alloc": ms.HeapAlloc,
			"heap_inuse": ms.HeapInuse, "heap_sys": ms.HeapSys, "sys": ms.Sys,
			"num_gc": ms.NumGC, "counts": C, "go": runtime.Version(),
			"seed": P.seed, "pid": os.Getpid(),
			"build_seconds": tBuild.Seconds(), "total_seconds": tEnd.Seconds(),
		}
		data, _ := json.MarshalIndent(out, "", " ")
		if err := os.WriteFile(flag.Arg(0), append(data, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen_heap_go:", err)
			os.Exit(1)
		}
	}
	if ms.HeapObjects < 10000000 || ms.HeapAlloc < 2<<30 {
		fmt.Fprintln(os.Stderr, "gen_heap_go: note: below the 10M objects / 2 GiB benchmark size")
	}
	os.Stdout.WriteString("READY\n")
}

func main() {
	P := params{}
	var n, chain, holderN, mib, seed int64
	flag.Int64Var(&n, "n", 10500000, "small objects to plant")
	flag.Int64Var(&chain, "c", 1000000, "deep chain length")
	flag.Int64Var(&mib, "B", 2048, "minimum heap bytes in use, MiB")
	flag.Int64Var(&holderN, "g", 100000, "nodes held by the holder goroutine")
	flag.Int64Var(&seed, "s", 1, "PRNG seed")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [-n N] [-c CHAIN] [-B MiB] [-g N] [-s SEED] [OUT.json]\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 1 || chain < 2 || n < 1 || mib < 0 || holderN < 0 {
		flag.Usage()
		os.Exit(2)
	}
	P.n, P.chain, P.holder, P.minBytes, P.seed = n, chain, holderN, uint64(mib)<<20, uint64(seed)

	t0 := time.Now()
	debug.SetGCPercent(-1)
	tailMasked, chainLen := build(&P)
	tBuild := time.Since(t0)
	fill(&P)
	runtime.GC() // one collection: frees the build garbage; sweeps everything
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	tEnd := time.Since(t0)

	report(&P, tailMasked, chainLen, &ms, tBuild, tEnd)
	for {
		time.Sleep(time.Hour)
	}
}
