import Testing

@testable import KumoGears

@Suite("DOT graphs for the Topology Manager")
struct DOTGraphTests {
    @Test("a ring: nodes in order of appearance, each seeing its neighbour under the edge's label")
    func ring() throws {
        let graph = try DOTGraph(parsing: """
            // three nodes in a ring
            digraph ring {
                node0 -> node1 [label="right"];
                node1 -> node2 [label="right"]
                node2 -> node0 [label = "right", color=red]
            }
            """)
        #expect(graph.nodes == ["node0", "node1", "node2"])
        #expect(graph.neighbours(of: "node1").map(\.label) == ["right"])
        #expect(graph.neighbours(of: "node2").map(\.node) == ["node0"])
    }

    @Test("chains, quoted names, comments, defaults and undirected edges")
    func syntax() throws {
        let graph = try DOTGraph(parsing: """
            strict graph "pipe" {
              /* defaults are ignored */
              node [shape=box]; rankdir=LR
              # a comment line
              "stage a" -- b -- c [label="next"]
              lonely
            }
            """)
        #expect(graph.nodes == ["stage a", "b", "c", "lonely"])
        #expect(graph.neighbours(of: "b").map(\.node).sorted() == ["c", "stage a"])
        #expect(!graph.directed)
    }

    @Test("a syntax error is refused with its line number")
    func errors() {
        func line(_ text: String) -> Int? {
            do {
                _ = try DOTGraph(parsing: text)
                return nil
            } catch {
                return error.line
            }
        }
        #expect(line("digraph g {\n  a -> b [label=\"x\"]\n  c -> \n}") == 4)
        #expect(line("digraph g {\n  a -> b\n}") == 2, "an edge without a label")
        #expect(line("digraph g {\n a -- b [label=x]\n}") == 2, "the wrong arrow")
        #expect(line("digraph g {\n a -> b [label=\"x]\n}") == 2, "an unclosed string")
        #expect(line("ring {}") == 1)
        #expect(line("digraph {\n a -> b [label=x]\n") == 2, "an unclosed graph")
        #expect(line("digraph { a -> b [label=x] } extra") == 1)
        #expect(line("digraph {\n\n @ }") == 3)
    }
}
