// catalog.mjs BASE_URL TOKEN NAMESPACE TABLE - reads the broker's Iceberg REST
// catalog with iceberg-js and prints one line per answer:
//   namespaces <ns,...> / tables <name,...> / location <metadata-location>
//   snapshot <current-snapshot-id> / missing <status> <icebergType>
import { IcebergRestCatalog, IcebergError } from 'iceberg-js'

const [baseUrl, token, ns, table] = process.argv.slice(2)
const catalog = new IcebergRestCatalog({ baseUrl, warehouse: 'lakehouse', auth: { type: 'bearer', token } })
const { namespaces } = await catalog.listNamespaces()
console.log('namespaces ' + namespaces.map((n) => n.namespace.join('.')).join(','))
const { identifiers } = await catalog.listTables({ namespace: [ns] })
console.log('tables ' + identifiers.map((t) => t.name).join(','))
const result = await catalog.loadTableResult({ namespace: [ns], name: table })
console.log('location ' + result['metadata-location'])
console.log('snapshot ' + result.metadata['current-snapshot-id'])
try {
  await catalog.loadTable({ namespace: [ns], name: 'no_such_table' })
  console.log('missing found')
} catch (e) {
  console.log('missing ' + (e instanceof IcebergError ? `${e.status} ${e.icebergType}` : String(e)))
}
