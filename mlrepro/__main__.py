from mlrepro.cli.main import main

main()
