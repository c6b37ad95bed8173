from silkline_server.main import main

main()
