import GatehouseCLI

await GatehouseMain.run()
